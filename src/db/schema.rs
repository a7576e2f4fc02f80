// @generated in the shape of `diesel print-schema`; keep it in step with `migrations/`.

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

diesel::joinable!(email_tokens -> emails (email_id));
diesel::joinable!(emails -> users (user_id));
diesel::joinable!(sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(email_tokens, emails, sessions, users,);
