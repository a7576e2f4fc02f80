// @generated in the shape of `diesel print-schema`; keep it in step with `migrations/`.

diesel::table! {
    api_tokens (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    badge_events (id) {
        id -> Text,
        badge_id -> Text,
        at -> Timestamp,
        status -> Text,
        reason -> Text,
    }
}

diesel::table! {
    badges (id) {
        id -> Text,
        user_id -> Text,
        dedupe_key -> Text,
        status -> Text,
        pending_address -> Nullable<Text>,
        version -> Nullable<Text>,
        name -> Text,
        description -> Nullable<Text>,
        issuer_name -> Nullable<Text>,
        issuer_url -> Nullable<Text>,
        issued_on -> Nullable<Timestamp>,
        expires_at -> Nullable<Timestamp>,
        matched_address -> Nullable<Text>,
        match_form -> Nullable<Text>,
        carrier -> Text,
        original -> Binary,
        payload -> Text,
        badge_json -> Text,
        report_json -> Text,
        image -> Nullable<Binary>,
        image_type -> Nullable<Text>,
        public_slug -> Nullable<Text>,
        checked_at -> Timestamp,
        next_check_at -> Timestamp,
        created_at -> Timestamp,
        failures -> Integer,
        stale_since -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    badge_copies (badge_id) {
        badge_id -> Text,
        url -> Text,
        etag -> Nullable<Text>,
        last_modified -> Nullable<Text>,
        body -> Text,
        fetched_at -> Timestamp,
    }
}

diesel::table! {
    collection_badges (collection_id, badge_id) {
        collection_id -> Text,
        badge_id -> Text,
        added_at -> Timestamp,
    }
}

diesel::table! {
    collections (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        description -> Text,
        public_slug -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    confirmation_sends (id) {
        id -> Text,
        address_lower -> Text,
        user_id -> Text,
        sent_at -> Timestamp,
    }
}

diesel::table! {
    email_tokens (token_hash) {
        token_hash -> Text,
        email_id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    emails (id) {
        id -> Text,
        user_id -> Text,
        address -> Text,
        address_lower -> Text,
        is_primary -> Bool,
        confirmed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    issuer_clients (id) {
        id -> Text,
        name -> Text,
        secret_hash -> Text,
        origins -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    push_auto_accepts (user_id, issuer_id) {
        user_id -> Text,
        issuer_id -> Text,
        issuer_name -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    push_rate_windows (client_id, window_start) {
        client_id -> Text,
        window_start -> Timestamp,
        requests -> Integer,
    }
}

diesel::table! {
    pushes (id) {
        id -> Text,
        client_id -> Text,
        dedupe_key -> Text,
        idempotency_key -> Nullable<Text>,
        request_hash -> Text,
        address_lower -> Text,
        state -> Text,
        user_id -> Nullable<Text>,
        input -> Binary,
        name -> Text,
        description -> Nullable<Text>,
        issuer_id -> Text,
        issuer_name -> Nullable<Text>,
        issued_on -> Nullable<Timestamp>,
        created_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    service_keys (name) {
        name -> Text,
        secret -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(badge_copies -> badges (badge_id));
diesel::joinable!(badge_events -> badges (badge_id));
diesel::joinable!(badges -> users (user_id));
diesel::joinable!(collection_badges -> badges (badge_id));
diesel::joinable!(collection_badges -> collections (collection_id));
diesel::joinable!(collections -> users (user_id));
diesel::joinable!(email_tokens -> emails (email_id));
diesel::joinable!(emails -> users (user_id));
diesel::joinable!(push_auto_accepts -> users (user_id));
diesel::joinable!(push_rate_windows -> issuer_clients (client_id));
diesel::joinable!(pushes -> issuer_clients (client_id));
diesel::joinable!(pushes -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    badge_copies,
    badge_events,
    badges,
    collection_badges,
    collections,
    confirmation_sends,
    email_tokens,
    emails,
    issuer_clients,
    push_auto_accepts,
    push_rate_windows,
    pushes,
    service_keys,
    sessions,
    users,
);
