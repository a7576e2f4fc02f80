//! The tera templates, embedded in the binary at build time so Satchel runs from any
//! working directory. Pages and mails both live here; `.html` templates are auto-escaped.

use anyhow::Context;

/// Embeds templates by their path under `templates/`, which is also their name.
macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../templates/", $name)))),*]
    };
}

/// Every template, by the name pages and mails render it with.
const TEMPLATES: &[(&str, &str)] = embed![
    "base.html",
    "pages/home.html",
    "pages/register.html",
    "pages/login.html",
    "pages/backpack.html",
    "pages/emails.html",
    "pages/confirm.html",
    "pages/error.html",
    "pages/import.html",
    "pages/badge.html",
    "pages/tokens.html",
    "pages/inbox.html",
    "pages/collections.html",
    "pages/collection.html",
    "pages/public_collection.html",
    "pages/public_badge.html",
    "partials/open_graph.html",
    "partials/links.html",
    "mail/confirm_email.subject.txt",
    "mail/confirm_email.txt",
    "mail/confirm_email.html",
    "mail/badge_status.subject.txt",
    "mail/badge_status.txt",
    "mail/badge_status.html",
    "mail/badge_pushed.subject.txt",
    "mail/badge_pushed.txt",
    "mail/badge_pushed.html",
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

    #[test]
    fn every_template_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut files = Vec::new();
        for folder in ["", "pages", "mail", "partials"] {
            for entry in std::fs::read_dir(root.join(folder)).expect("templates folder") {
                let path = entry.expect("entry").path();
                if path.is_file() && path.extension().is_some_and(|e| e != "css") {
                    let name = path.strip_prefix(&root).expect("inside").to_string_lossy();
                    files.push(name.replace('\\', "/"));
                }
            }
        }

        let embedded: Vec<&str> = TEMPLATES.iter().map(|(name, _)| *name).collect();
        for file in &files {
            assert!(embedded.contains(&file.as_str()), "{file} is not embedded");
        }
    }
}
