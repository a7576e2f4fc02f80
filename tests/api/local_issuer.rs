//! A local issuer for backpack tests: it writes hosted Open Badges 2.0 documents (issuer,
//! badge classes with a PNG image, assertions) to a temp folder served by a real local
//! server, and bakes PNGs that point at them. Ids are `https://issuer.example/...`; the
//! app under test fetches them from the local server through a URL rewrite.

use std::path::Path;

use satchel::domain::bake::bake;
use satchel::domain::unbake::Keyword;
use serde_json::json;

use crate::issuer::{IssuerServer, FIXTURES};

pub const ORIGIN: &str = "https://issuer.example/";

pub struct LocalIssuer {
    pub server: IssuerServer,
    dir: tempfile::TempDir,
}

impl LocalIssuer {
    pub fn start() -> LocalIssuer {
        let dir = tempfile::tempdir().expect("temp dir");
        write_json(
            dir.path(),
            "issuer.json",
            &json!({
                "@context": "https://w3id.org/openbadges/v2",
                "type": "Issuer",
                "id": format!("{ORIGIN}issuer.json"),
                "name": "Example Issuer",
                "url": "https://issuer.example",
                "email": "issuer@issuer.example",
            }),
        );
        std::fs::write(dir.path().join("badge.png"), plain_png()).expect("image");
        let server = IssuerServer::start(dir.path().to_path_buf(), Default::default());
        LocalIssuer { server, dir }
    }

    /// The rewrite that sends the app's fetches of `https://issuer.example/` here.
    pub fn rewrite(&self) -> (String, String) {
        (ORIGIN.to_string(), format!("{}/", self.server.base))
    }

    /// Publishes a badge class and an assertion for `email`; returns the assertion URL.
    pub fn award(&self, slug: &str, name: &str, email: &str, issued_on: &str) -> String {
        write_json(
            self.dir.path(),
            &format!("{slug}-class.json"),
            &json!({
                "@context": "https://w3id.org/openbadges/v2",
                "type": "BadgeClass",
                "id": format!("{ORIGIN}{slug}-class.json"),
                "name": name,
                "description": format!("Awarded for {name}."),
                "image": format!("{ORIGIN}badge.png"),
                "criteria": { "narrative": "Do the work." },
                "issuer": format!("{ORIGIN}issuer.json"),
            }),
        );
        let url = format!("{ORIGIN}{slug}.json");
        write_json(
            self.dir.path(),
            &format!("{slug}.json"),
            &json!({
                "@context": "https://w3id.org/openbadges/v2",
                "type": "Assertion",
                "id": url,
                "recipient": { "type": "email", "hashed": false, "identity": email },
                "badge": format!("{ORIGIN}{slug}-class.json"),
                "issuedOn": issued_on,
                "verification": { "type": "hosted" },
            }),
        );
        url
    }

    /// Replaces a published assertion, e.g. to revoke it.
    pub fn edit_assertion(&self, slug: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let path = self.dir.path().join(format!("{slug}.json"));
        let mut value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("assertion")).expect("json");
        edit(&mut value);
        write_json(self.dir.path(), &format!("{slug}.json"), &value);
    }

    /// Replaces a published badge class.
    pub fn edit_class(&self, slug: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let name = format!("{slug}-class.json");
        let path = self.dir.path().join(&name);
        let mut value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("class")).expect("json");
        edit(&mut value);
        write_json(self.dir.path(), &name, &value);
    }

    /// Publishes any JSON document at `https://issuer.example/<name>`.
    pub fn publish(&self, name: &str, value: &serde_json::Value) {
        write_json(self.dir.path(), name, value);
    }

    /// A PNG with the assertion URL baked in, as issuers hand them out.
    pub fn baked_png(&self, assertion_url: &str) -> Vec<u8> {
        bake(&plain_png(), assertion_url, Keyword::OpenBadges).expect("bakes")
    }
}

/// A real small PNG without badge data.
pub fn plain_png() -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/mozilla-bakery/unbaked.png")).expect("fixture PNG")
}

fn write_json(dir: &Path, name: &str, value: &serde_json::Value) {
    std::fs::write(
        dir.join(name),
        serde_json::to_vec_pretty(value).expect("json"),
    )
    .expect("write");
}
