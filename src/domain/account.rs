//! Validated account inputs: email addresses as users type them, and passwords.
//! Addresses keep the exact spelling typed and compare by their lowercased form
//! (field report 1: a case-only difference never makes a second account).

use std::fmt;

/// Why an address or password was refused; each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountInputError {
    #[error("Enter an email address like name@example.org.")]
    InvalidEmail,
    #[error("Use a password of at least {min} characters.", min = Password::MIN_CHARS)]
    PasswordTooShort,
    #[error("Use a password of at most {max} characters.", max = Password::MAX_CHARS)]
    PasswordTooLong,
}

impl AccountInputError {
    pub fn code(&self) -> &'static str {
        match self {
            AccountInputError::InvalidEmail => "invalid_email",
            AccountInputError::PasswordTooShort => "password_too_short",
            AccountInputError::PasswordTooLong => "password_too_long",
        }
    }
}

/// A syntactically plausible email address, stored as typed (surrounding spaces trimmed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Accepts `local@domain` where the domain has a dot, with no spaces or control
    /// characters and at most 254 characters. Deliverability is proven by the mailed link,
    /// not here.
    pub fn parse(input: &str) -> Result<EmailAddress, AccountInputError> {
        let address = input.trim();
        let Some((local, domain)) = address.rsplit_once('@') else {
            return Err(AccountInputError::InvalidEmail);
        };
        let plausible = address.len() <= 254
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@')
            && !address.chars().any(|c| c.is_whitespace() || c.is_control())
            // The mailer must be able to send to it, or the account could never confirm it.
            && address.parse::<lettre::Address>().is_ok();
        if plausible {
            Ok(EmailAddress(address.to_string()))
        } else {
            Err(AccountInputError::InvalidEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form uniqueness and look-ups compare.
    pub fn lowercased(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the length rules. Its `Debug` never shows it.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(input: &str) -> Result<Password, AccountInputError> {
        match input.chars().count() {
            n if n < Self::MIN_CHARS => Err(AccountInputError::PasswordTooShort),
            n if n > Self::MAX_CHARS => Err(AccountInputError::PasswordTooLong),
            _ => Ok(Password(input.to_string())),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_keep_their_spelling_and_compare_lowercased() {
        let address = EmailAddress::parse("  Learner@Example.org ").expect("valid");

        assert_eq!(address.as_str(), "Learner@Example.org");
        assert_eq!(address.lowercased(), "learner@example.org");
    }

    #[test]
    fn implausible_addresses_are_refused() {
        for input in [
            "",
            "learner",
            "@example.org",
            "learner@",
            "learner@example",
            "a b@x.org",
            "learner@.example.org",
            "learner@example..org",
            "learner@example.org.",
        ] {
            assert_eq!(
                EmailAddress::parse(input),
                Err(AccountInputError::InvalidEmail),
                "{input:?} was accepted"
            );
        }
    }

    #[test]
    fn passwords_must_fit_the_length_rules() {
        assert!(matches!(
            Password::parse("short"),
            Err(AccountInputError::PasswordTooShort)
        ));
        assert!(Password::parse("long enough").is_ok());
        let huge = "x".repeat(Password::MAX_CHARS + 1);
        assert!(matches!(
            Password::parse(&huge),
            Err(AccountInputError::PasswordTooLong)
        ));
        assert_eq!(
            format!("{:?}", Password::parse("secret123").ok()),
            "Some(Password(…))"
        );
    }
}
