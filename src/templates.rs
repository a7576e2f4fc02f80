//! The tera templates, embedded in the binary at build time so Satchel runs from any
//! working directory. Pages and mails both live here; `.html` templates are auto-escaped.

use anyhow::Context;

/// Every template, by the name pages and mails render it with.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../templates/base.html")),
    (
        "pages/home.html",
        include_str!("../templates/pages/home.html"),
    ),
    (
        "pages/register.html",
        include_str!("../templates/pages/register.html"),
    ),
    (
        "pages/login.html",
        include_str!("../templates/pages/login.html"),
    ),
    (
        "pages/backpack.html",
        include_str!("../templates/pages/backpack.html"),
    ),
    (
        "pages/emails.html",
        include_str!("../templates/pages/emails.html"),
    ),
    (
        "pages/confirm.html",
        include_str!("../templates/pages/confirm.html"),
    ),
    (
        "pages/error.html",
        include_str!("../templates/pages/error.html"),
    ),
    (
        "mail/confirm_email.subject.txt",
        include_str!("../templates/mail/confirm_email.subject.txt"),
    ),
    (
        "mail/confirm_email.txt",
        include_str!("../templates/mail/confirm_email.txt"),
    ),
    (
        "mail/confirm_email.html",
        include_str!("../templates/mail/confirm_email.html"),
    ),
];

/// The stylesheet served at `/static/style.css`.
pub const STYLESHEET: &str = include_str!("../templates/static/style.css");

/// The loaded template set.
pub struct Templates {
    tera: tera::Tera,
}

impl Templates {
    /// Parses every embedded template; fails on the first template that does not parse.
    pub fn load() -> anyhow::Result<Templates> {
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(TEMPLATES.iter().copied())
            .context("an embedded template does not parse")?;
        Ok(Templates { tera })
    }

    pub fn render(&self, name: &str, context: &tera::Context) -> tera::Result<String> {
        self.tera.render(name, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_template_parses() {
        assert!(Templates::load().is_ok());
    }
}
