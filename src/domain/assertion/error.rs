//! Why a badge document could not be read. Each variant has a stable snake_case code for the
//! HTTP layer and a message a badge holder can act on.

/// A badge document that cannot be turned into a [`super::ParsedBadge`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the badge data is empty")]
    Empty,
    #[error("the badge data is a link ({url}), not the badge itself: fetch it first")]
    UrlNotDocument { url: String },
    #[error("the badge data is not valid JSON: {reason}")]
    NotJson { reason: String },
    #[error("the badge JSON is nested deeper than {limit} levels")]
    TooDeep { limit: usize },
    #[error("the badge JSON must be an object, not {found}")]
    NotAnObject { found: &'static str },
    #[error("the signed badge (JWS) cannot be decoded: {reason}")]
    BadJws { reason: String },
    #[error("this is not an Open Badges assertion or credential in any known version")]
    UnknownVersion,
    #[error("the @context {context} is not an Open Badges or Verifiable Credentials context")]
    UnknownContext { context: String },
    #[error("the credential's @context is wrong: {reason}")]
    BadContext { reason: String },
    #[error("expected a document of type {expected}, found {found}")]
    WrongType {
        expected: &'static str,
        found: String,
    },
    #[error("the required field `{field}` is missing")]
    MissingField { field: String },
    #[error("the field `{field}` is malformed: {reason}")]
    BadField { field: String, reason: String },
    #[error("the field `{field}` is not a date Satchel can read: {value}")]
    BadDate { field: String, value: String },
}

impl ParseError {
    pub(crate) fn missing(field: impl Into<String>) -> Self {
        Self::MissingField {
            field: field.into(),
        }
    }

    pub(crate) fn bad_field(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::BadField {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A stable identifier for logs, API clients and tests.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::UrlNotDocument { .. } => "url_not_document",
            Self::NotJson { .. } => "not_json",
            Self::TooDeep { .. } => "too_deep",
            Self::NotAnObject { .. } => "not_an_object",
            Self::BadJws { .. } => "bad_jws",
            Self::UnknownVersion => "unknown_version",
            Self::UnknownContext { .. } => "unknown_context",
            Self::BadContext { .. } => "bad_context",
            Self::WrongType { .. } => "wrong_type",
            Self::MissingField { .. } => "missing_field",
            Self::BadField { .. } => "bad_field",
            Self::BadDate { .. } => "bad_date",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_snake_case_words() {
        let errors = [
            ParseError::Empty,
            ParseError::UrlNotDocument {
                url: "https://a.example".into(),
            },
            ParseError::NotJson { reason: "x".into() },
            ParseError::TooDeep { limit: 64 },
            ParseError::NotAnObject { found: "an array" },
            ParseError::BadJws { reason: "x".into() },
            ParseError::UnknownVersion,
            ParseError::UnknownContext {
                context: "x".into(),
            },
            ParseError::BadContext { reason: "x".into() },
            ParseError::WrongType {
                expected: "Assertion",
                found: "BadgeClass".into(),
            },
            ParseError::MissingField {
                field: "recipient".into(),
            },
            ParseError::BadField {
                field: "recipient".into(),
                reason: "x".into(),
            },
            ParseError::BadDate {
                field: "issuedOn".into(),
                value: "x".into(),
            },
        ];

        let mut codes: Vec<&str> = errors.iter().map(ParseError::code).collect();
        codes.sort_unstable();
        codes.dedup();

        assert_eq!(codes.len(), errors.len(), "duplicate codes: {codes:?}");
        for code in codes {
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }
}
