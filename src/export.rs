//! The whole-account export: a zip of every badge (what the learner imported, byte for
//! byte, the issuer's assertion, and the image) with a `manifest.json`, and reading such a
//! zip back as import items, so a backpack can move to another Satchel.

use std::io::{Cursor, Read, Write};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use crate::db::badges::ExportedBadge;
use crate::domain::bake::bake;
use crate::domain::unbake::Keyword;

/// Names the export format, so later versions can read older exports.
pub const FORMAT: &str = "satchel-export/1";
/// At most this many badges are read back from one export.
const MAX_ENTRIES: usize = 10_000;
/// At most this many bytes are inflated from one export.
const MAX_TOTAL_BYTES: u64 = 100 * 1024 * 1024;
/// The largest export zip an import accepts.
pub const MAX_EXPORT_BYTES: usize = 100 * 1024 * 1024;
/// The largest single badge read back from an export (the upload limit).
const MAX_ENTRY_BYTES: u64 = 5 * 1024 * 1024;

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub exported_at: String,
    pub badges: Vec<ManifestBadge>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestBadge {
    pub id: String,
    pub name: String,
    pub status: String,
    pub issued_on: Option<String>,
    /// The file holding what was imported, byte for byte: what a re-import reads.
    pub original: String,
    pub assertion: String,
    pub image: Option<String>,
}

fn extension(carrier: &str) -> &'static str {
    match carrier {
        "png" => "png",
        "svg" => "svg",
        "json" => "json",
        _ => "txt",
    }
}

/// Writes the export zip for these badges.
pub fn write_export(badges: &[ExportedBadge]) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    let mut entries = Vec::with_capacity(badges.len());
    for badge in badges {
        let dir = format!("badges/{}", badge.id);
        let original = format!("{dir}/original.{}", extension(&badge.carrier));
        let assertion_ext = if badge.payload.trim_start().starts_with('{') {
            "json"
        } else {
            "jws"
        };
        let assertion = format!("{dir}/assertion.{assertion_ext}");
        zip.start_file(original.as_str(), options)?;
        zip.write_all(&badge.original)?;
        zip.start_file(assertion.as_str(), options)?;
        zip.write_all(badge.payload.as_bytes())?;
        let image = match (&badge.image, badge.image_type.as_deref()) {
            (Some(bytes), Some(kind)) => {
                let extension = if kind == "image/png" { "png" } else { "svg" };
                let (name, content) = match baked_copy(badge, bytes) {
                    Some(baked) => (format!("{dir}/baked.{extension}"), baked),
                    None => (format!("{dir}/image.{extension}"), bytes.clone()),
                };
                zip.start_file(name.as_str(), options)?;
                zip.write_all(&content)?;
                Some(name)
            }
            _ => None,
        };
        entries.push(ManifestBadge {
            id: badge.id.clone(),
            name: badge.name.clone(),
            status: badge.status.clone(),
            issued_on: badge.issued_on.map(|d| d.and_utc().to_rfc3339()),
            original,
            assertion,
            image,
        });
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        exported_at: chrono::Utc::now().to_rfc3339(),
        badges: entries,
    };
    zip.start_file("manifest.json", options)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
    Ok(zip.finish()?.into_inner())
}

/// For a badge that did not come as a baked image, its image with the assertion baked in,
/// so every image in the export carries its badge (field report 10). A baked upload is
/// already in the export byte for byte as its original.
fn baked_copy(badge: &ExportedBadge, image: &[u8]) -> Option<Vec<u8>> {
    if matches!(badge.carrier.as_str(), "png" | "svg") {
        return None;
    }
    let keyword = match badge.version.as_deref() {
        Some("3.0") => Keyword::OpenBadgeCredential,
        _ => Keyword::OpenBadges,
    };
    bake(image, &badge.payload, keyword).ok()
}

/// Whether bytes are a zip archive.
pub fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// The badges of an export, as (name, bytes) items to import, in the manifest's order.
pub fn read_export(bytes: &[u8]) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).context("not a zip archive")?;
    let manifest: Manifest = {
        let file = archive
            .by_name("manifest.json")
            .context("the zip has no manifest.json")?;
        serde_json::from_slice(&read_capped(file, MAX_TOTAL_BYTES)?)
            .context("manifest.json is not a Satchel export manifest")?
    };
    if !manifest.format.starts_with("satchel-export/") {
        anyhow::bail!("this zip is not a Satchel export ({})", manifest.format);
    }
    let mut budget = MAX_TOTAL_BYTES;
    let mut items = Vec::new();
    for badge in manifest.badges.into_iter().take(MAX_ENTRIES) {
        let file = archive
            .by_name(&badge.original)
            .with_context(|| format!("the export lacks {}", badge.original))?;
        let content = read_capped(file, budget.min(MAX_ENTRY_BYTES))
            .with_context(|| format!("{} is too large", badge.original))?;
        budget = budget.saturating_sub(content.len() as u64);
        items.push((badge.name, content));
    }
    Ok(items)
}

fn read_capped(file: impl Read, limit: u64) -> anyhow::Result<Vec<u8>> {
    let mut content = Vec::new();
    file.take(limit + 1).read_to_end(&mut content)?;
    if content.len() as u64 > limit {
        anyhow::bail!("the export is larger than {limit} bytes when unpacked");
    }
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn badge(id: &str, carrier: &str, original: &[u8]) -> ExportedBadge {
        ExportedBadge {
            id: id.into(),
            name: format!("Badge {id}"),
            status: "valid".into(),
            carrier: carrier.into(),
            original: original.to_vec(),
            payload: "{\"id\":\"https://issuer.example/a\"}".into(),
            image: None,
            image_type: None,
            issued_on: None,
            version: Some("2.0".into()),
        }
    }

    #[test]
    fn an_export_reads_back_as_the_original_bytes_in_order() {
        let badges = [
            badge("a", "png", b"\x89PNG original"),
            badge("b", "url", b"https://x/1"),
        ];

        let zip = write_export(&badges).expect("writes");
        let items = read_export(&zip).expect("reads");

        assert!(is_zip(&zip));
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0],
            ("Badge a".to_string(), b"\x89PNG original".to_vec())
        );
        assert_eq!(items[1].1, b"https://x/1");
    }

    #[test]
    fn a_zip_that_is_not_an_export_is_refused_with_a_reason() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("notes.txt", SimpleFileOptions::default())
            .expect("entry");
        zip.write_all(b"hello").expect("write");
        let bytes = zip.finish().expect("zip").into_inner();

        let error = read_export(&bytes).expect_err("refused");

        assert!(error.to_string().contains("manifest.json"), "{error}");
    }
}
