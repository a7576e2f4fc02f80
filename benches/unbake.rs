//! Unbaking throughput (issue 4): Satchel's unbaker on PNGs of about 20 KB, 100 KB and 1 MB with
//! the badge chunk right after IHDR or right before IEND, and on SVGs of about 20 KB and 200 KB
//! with the badge element near the start or near the end. Each set is timed three ways: unbake
//! from memory, read from disk then unbake, and a plain `fs::read` of the same files (the limit).
//!
//! The corpus is generated at start from fixed seeds, so every run times the same bytes. It goes
//! to a temporary folder, or to `SATCHEL_BENCH_CORPUS` (kept, one subfolder per set, plus
//! `satchel-summary.json`) so that the Python peer can be timed on the very same files; see
//! `benches/unbake_peer.sh` and BENCHMARKS.md. This file uses only Satchel's public `domain`
//! API and must not change what it measures.

use std::error::Error;
use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use std::{env, fs};

use criterion::{Criterion, SamplingMode, Throughput};
use satchel::domain::bake::{bake, Keyword};
use satchel::domain::unbake::{unbake, Limits};
use serde_json::json;

type BenchResult<T> = Result<T, Box<dyn Error>>;

/// Where to keep the corpus; unset means a temporary folder removed at exit.
const CORPUS_VAR: &str = "SATCHEL_BENCH_CORPUS";
/// Bytes of image data per IDAT chunk: libpng's default, what most badge images carry.
const IDAT_CHUNK_BYTES: usize = 8192;
/// Each set holds about this many bytes (and at least `MIN_FILES` files), so that small files
/// are timed over many distinct files rather than one file in a loop.
const SET_BYTES: usize = 4_000_000;
const MIN_FILES: usize = 16;

/// Where the badge sits in the carrier.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// PNG: right after IHDR (what bakers write). SVG: first child of the root.
    Start,
    /// PNG: right before IEND, after all image data. SVG: last child of the root.
    End,
}

#[derive(Debug, Clone, Copy)]
enum Carrier {
    Png,
    Svg,
}

/// One kind of file: a carrier of a given size with the badge at one place.
#[derive(Debug, Clone, Copy)]
struct SetSpec {
    carrier: Carrier,
    label: &'static str,
    target_bytes: usize,
    placement: Placement,
}

impl SetSpec {
    fn name(&self) -> String {
        let (carrier, place) = match (self.carrier, self.placement) {
            (Carrier::Png, Placement::Start) => ("png", "after-ihdr"),
            (Carrier::Png, Placement::End) => ("png", "before-iend"),
            (Carrier::Svg, Placement::Start) => ("svg", "start"),
            (Carrier::Svg, Placement::End) => ("svg", "end"),
        };
        format!("{carrier}-{}-{place}", self.label)
    }

    fn file_count(&self) -> usize {
        (SET_BYTES / self.target_bytes).max(MIN_FILES)
    }
}

fn set_specs() -> Vec<SetSpec> {
    let sizes = [
        (Carrier::Png, "20k", 20_000),
        (Carrier::Png, "100k", 100_000),
        (Carrier::Png, "1m", 1_000_000),
        (Carrier::Svg, "20k", 20_000),
        (Carrier::Svg, "200k", 200_000),
    ];
    let mut specs = Vec::new();
    for (carrier, label, target_bytes) in sizes {
        for placement in [Placement::Start, Placement::End] {
            specs.push(SetSpec {
                carrier,
                label,
                target_bytes,
                placement,
            });
        }
    }
    specs
}

/// A generated set: its files on disk and the same bytes in memory.
struct Set {
    name: String,
    paths: Vec<PathBuf>,
    blobs: Vec<Vec<u8>>,
}

impl Set {
    fn total_bytes(&self) -> u64 {
        self.blobs.iter().map(|blob| blob.len() as u64).sum()
    }
}

// ---------------------------------------------------------------------------------------------
// Corpus

/// A small deterministic generator (SplitMix64), so the corpus never depends on a crate's
/// choice of algorithm.
struct Noise(u64);

impl Noise {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// A hosted OB 2.0 assertion with its badge class and issuer embedded: about 1.5 KB, the size
/// of what real issuers bake.
fn assertion_json(index: usize, noise: &mut Noise) -> String {
    let salt = format!("{:016x}", noise.next_u64());
    let identity = format!("sha256${:016x}{:016x}", noise.next_u64(), noise.next_u64());
    let assertion = json!({
        "@context": "https://w3id.org/openbadges/v2",
        "type": "Assertion",
        "id": format!("https://badges.example.edu/assertions/{index:06}"),
        "recipient": {"type": "email", "hashed": true, "salt": salt, "identity": identity},
        "issuedOn": "2024-05-17T09:30:00+00:00",
        "expires": "2027-05-17T09:30:00+00:00",
        "verification": {"type": "HostedBadge"},
        "narrative": "Completed all four modules and the capstone project, reviewed by two \
            instructors against the published rubric.",
        "evidence": [{
            "id": format!("https://portfolio.example.edu/learners/{index:06}/capstone"),
            "narrative": "Capstone: a data pipeline for open air-quality measurements."
        }],
        "badge": {
            "type": "BadgeClass",
            "id": "https://badges.example.edu/classes/data-engineering-foundations",
            "name": "Data Engineering Foundations",
            "description": "Awarded to learners who design, build and document a reproducible \
                data pipeline, from ingestion and validation to storage and reporting.",
            "image": "https://badges.example.edu/images/data-engineering-foundations.png",
            "criteria": {
                "id": "https://badges.example.edu/classes/data-engineering-foundations/criteria",
                "narrative": "Pass the four module quizzes with 80% or more and submit a \
                    capstone project that meets every item of the rubric."
            },
            "tags": ["data", "engineering", "pipelines", "sql"],
            "alignment": [{
                "targetName": "Data literacy",
                "targetUrl": "https://framework.example.org/competencies/data-literacy"
            }],
            "issuer": {
                "type": "Issuer",
                "id": "https://badges.example.edu/issuer",
                "name": "Example University, School of Continuing Studies",
                "url": "https://www.example.edu/continuing-studies",
                "email": "badges@example.edu"
            }
        }
    });
    assertion.to_string()
}

/// An RGB image of noise (so it does not compress away) whose PNG is about `target_bytes`, with
/// its image data split into libpng-sized IDAT chunks.
fn noise_png(target_bytes: usize, noise: &mut Noise) -> BenchResult<Vec<u8>> {
    let side = (target_bytes / 3).isqrt();
    let mut pixels = vec![0; side * side * 3];
    noise.fill(&mut pixels);
    let side = u32::try_from(side)?;

    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    let mut stream = writer.stream_writer_with_size(IDAT_CHUNK_BYTES)?;
    stream.write_all(&pixels)?;
    stream.finish()?;
    writer.finish()?;
    Ok(png)
}

/// The same `iTXt` chunk `bake` writes (uncompressed, no language), for placing by hand.
fn itxt_chunk(payload: &str) -> BenchResult<Vec<u8>> {
    let mut data = b"openbadges\0\0\0\0\0".to_vec();
    data.extend_from_slice(payload.as_bytes());
    let mut chunk = u32::try_from(data.len())?.to_be_bytes().to_vec();
    chunk.extend_from_slice(b"iTXt");
    chunk.extend_from_slice(&data);
    let crc = crc32fast::hash(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    Ok(chunk)
}

fn baked_png(spec: &SetSpec, payload: &str, noise: &mut Noise) -> BenchResult<Vec<u8>> {
    let image = noise_png(spec.target_bytes, noise)?;
    match spec.placement {
        Placement::Start => Ok(bake(&image, payload, Keyword::OpenBadges)?),
        Placement::End => {
            const IEND: &[u8] = b"\0\0\0\0IEND\xAE\x42\x60\x82";
            let body = image
                .strip_suffix(IEND)
                .ok_or("the encoder did not end with IEND")?;
            Ok([body, &itxt_chunk(payload)?, IEND].concat())
        }
    }
}

/// A badge drawing of about `target_bytes`: gradients and many filled paths, as exported by
/// vector editors.
fn drawing_svg(target_bytes: usize, noise: &mut Noise) -> String {
    let mut svg = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"600\" height=\"600\" viewBox=\"0 0 600 600\">\n<defs><linearGradient \
         id=\"g\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"1\"><stop offset=\"0\" stop-color=\"#1d4ed8\"/>\
         <stop offset=\"1\" stop-color=\"#9333ea\"/></linearGradient></defs>\n\
         <circle cx=\"300\" cy=\"300\" r=\"290\" fill=\"url(#g)\"/>\n",
    );
    while svg.len() < target_bytes {
        let mut point = || noise.below(6000) as f64 / 10.0;
        let d = format!(
            "M{} {}C{} {} {} {} {} {}L{} {}Z",
            point(),
            point(),
            point(),
            point(),
            point(),
            point(),
            point(),
            point(),
            point(),
            point()
        );
        let colour = noise.below(0x100_0000);
        let _ = writeln!(
            svg,
            "<path d=\"{d}\" fill=\"#{colour:06x}\" opacity=\"0.8\"/>"
        );
    }
    svg.push_str("<text x=\"300\" y=\"320\" text-anchor=\"middle\">Data Engineering</text>\n");
    svg.push_str("</svg>\n");
    svg
}

fn baked_svg(spec: &SetSpec, payload: &str, noise: &mut Noise) -> BenchResult<Vec<u8>> {
    let image = drawing_svg(spec.target_bytes, noise);
    let baked = String::from_utf8(bake(image.as_bytes(), payload, Keyword::OpenBadges)?)?;
    match spec.placement {
        Placement::Start => Ok(baked.into_bytes()),
        Placement::End => Ok(move_badge_to_end(&baked)?.into_bytes()),
    }
}

/// Moves the element `bake` put first in the root to just before `</svg>`.
fn move_badge_to_end(svg: &str) -> BenchResult<String> {
    const CLOSE: &str = "</openbadges:assertion>";
    let start = svg
        .find("<openbadges:assertion")
        .ok_or("no badge element")?;
    let end = svg.find(CLOSE).ok_or("no badge end tag")? + CLOSE.len();
    let root_end = svg.rfind("</svg>").ok_or("no root end tag")?;
    let element = &svg[start..end];
    Ok([
        &svg[..start],
        &svg[end..root_end],
        element,
        "\n",
        &svg[root_end..],
    ]
    .concat())
}

/// Writes one set under `root` and checks that Satchel unbakes each file to its payload.
fn write_set(root: &Path, spec: &SetSpec, seed: u64) -> BenchResult<Set> {
    let name = spec.name();
    let folder = root.join(&name);
    fs::create_dir_all(&folder)?;
    let mut noise = Noise(seed);
    let (mut paths, mut blobs) = (Vec::new(), Vec::new());
    for index in 0..spec.file_count() {
        let payload = assertion_json(index, &mut noise);
        let (blob, extension) = match spec.carrier {
            Carrier::Png => (baked_png(spec, &payload, &mut noise)?, "png"),
            Carrier::Svg => (baked_svg(spec, &payload, &mut noise)?, "svg"),
        };
        if unbake(&blob, &Limits::default())?.payload != payload {
            return Err(format!("{name} file {index}: the payload does not round-trip").into());
        }
        let path = folder.join(format!("badge-{index:04}.{extension}"));
        fs::write(&path, &blob)?;
        paths.push(path);
        blobs.push(blob);
    }
    Ok(Set { name, paths, blobs })
}

fn write_corpus(root: &Path) -> BenchResult<Vec<Set>> {
    let mut sets = Vec::new();
    for (seed, spec) in (1..).zip(set_specs()) {
        sets.push(write_set(root, &spec, seed)?);
    }
    Ok(sets)
}

// ---------------------------------------------------------------------------------------------
// Measurement

/// What one benchmark iteration does with every file of a set.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// `unbake` on bytes already in memory.
    Memory,
    /// `fs::read` then `unbake`: what an import from disk costs.
    Disk,
    /// `fs::read` alone: the limit for `Disk`.
    Read,
}

const MODES: [Mode; 3] = [Mode::Memory, Mode::Disk, Mode::Read];

impl Mode {
    fn id(self) -> &'static str {
        match self {
            Mode::Memory => "unbake-memory",
            Mode::Disk => "unbake-disk",
            Mode::Read => "plain-read",
        }
    }
}

fn run_mode(set: &Set, mode: Mode, limits: &Limits) {
    match mode {
        Mode::Memory => {
            for blob in &set.blobs {
                let _ = black_box(unbake(black_box(blob), limits));
            }
        }
        Mode::Disk => {
            for path in &set.paths {
                let _ = black_box(fs::read(path).map(|bytes| unbake(&bytes, limits)));
            }
        }
        Mode::Read => {
            for path in &set.paths {
                let _ = black_box(fs::read(path));
            }
        }
    }
}

/// One criterion group per set, so the three modes of a set are compared side by side. Sampling
/// is flat and resampling light so that the whole run stays within about three minutes.
fn bench_sets(criterion: &mut Criterion, sets: &[Set]) {
    let limits = Limits::default();
    for set in sets {
        let mut group = criterion.benchmark_group(&set.name);
        group
            .sampling_mode(SamplingMode::Flat)
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .nresamples(10_000)
            .throughput(Throughput::BytesDecimal(set.total_bytes()));
        for mode in MODES {
            group.bench_function(mode.id(), |bencher| {
                bencher.iter(|| run_mode(set, mode, &limits));
            });
        }
        group.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Summary in files/s and MB/s

/// Where criterion keeps its results: `CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
/// else the target folder this executable was built in (`<target>/release/deps/unbake-*`).
fn criterion_home() -> Option<PathBuf> {
    if let Some(home) = env::var_os("CRITERION_HOME") {
        return Some(home.into());
    }
    if let Some(target) = env::var_os("CARGO_TARGET_DIR") {
        return Some(PathBuf::from(target).join("criterion"));
    }
    let exe = env::current_exe().ok()?;
    Some(exe.parent()?.parent()?.parent()?.join("criterion"))
}

/// The median time of one iteration in seconds, if criterion measured it in this run.
fn median_seconds(home: &Path, set: &str, mode: Mode, since: SystemTime) -> Option<f64> {
    let path = home
        .join(set)
        .join(mode.id())
        .join("new")
        .join("estimates.json");
    if fs::metadata(&path).ok()?.modified().ok()? < since {
        return None;
    }
    let estimates: serde_json::Value = serde_json::from_slice(&fs::read(&path).ok()?).ok()?;
    let nanos = estimates.pointer("/median/point_estimate")?.as_f64()?;
    Some(nanos / 1e9)
}

fn summarise(sets: &[Set], since: SystemTime) -> serde_json::Value {
    let home = criterion_home();
    let mut rows = Vec::new();
    for set in sets {
        let (files, bytes) = (set.blobs.len() as f64, set.total_bytes() as f64);
        let mut row =
            json!({"set": set.name, "files": set.blobs.len(), "bytes": set.total_bytes()});
        for mode in MODES {
            let Some(seconds) = home
                .as_deref()
                .and_then(|home| median_seconds(home, &set.name, mode, since))
            else {
                continue;
            };
            row[mode.id()] = json!({
                "files_per_s": files / seconds,
                "MB_per_s": bytes / 1e6 / seconds,
            });
        }
        rows.push(row);
    }
    json!({ "sets": rows })
}

fn print_summary(summary: &serde_json::Value) {
    println!("\nUnbaking summary (criterion medians; MB = 10^6 bytes; disk = warm page cache)");
    println!(
        "{:<22} {:>5} {:>7} | {:>19} | {:>19} | {:>19} | disk/read",
        "set", "files", "MB", "memory files/s MB/s", "disk files/s MB/s", "read files/s MB/s"
    );
    let empty = Vec::new();
    for row in summary["sets"].as_array().unwrap_or(&empty) {
        let rate = |mode: Mode, key: &str| row[mode.id()][key].as_f64();
        let cell = |mode: Mode| match (rate(mode, "files_per_s"), rate(mode, "MB_per_s")) {
            (Some(files), Some(mb)) => format!("{files:>10.0} {mb:>8.1}"),
            _ => format!("{:>19}", "-"),
        };
        let ratio = match (
            rate(Mode::Read, "files_per_s"),
            rate(Mode::Disk, "files_per_s"),
        ) {
            (Some(read), Some(disk)) => format!("{:.2}", read / disk),
            _ => "-".to_owned(),
        };
        let megabytes = row["bytes"].as_f64().unwrap_or_default() / 1e6;
        println!(
            "{:<22} {:>5} {megabytes:>7.2} | {} | {} | {} | {ratio}",
            row["set"].as_str().unwrap_or_default(),
            row["files"],
            cell(Mode::Memory),
            cell(Mode::Disk),
            cell(Mode::Read),
        );
    }
}

fn main() -> BenchResult<()> {
    let temporary = tempfile::tempdir()?;
    let kept = env::var_os(CORPUS_VAR).map(PathBuf::from);
    let root = kept.as_deref().unwrap_or(temporary.path());
    let sets = write_corpus(root)?;
    if let Some(kept) = &kept {
        eprintln!("corpus kept in {}", kept.display());
    }

    let started = SystemTime::now();
    let mut criterion = Criterion::default().configure_from_args();
    bench_sets(&mut criterion, &sets);
    criterion.final_summary();

    let summary = summarise(&sets, started);
    print_summary(&summary);
    if let Some(kept) = &kept {
        fs::write(kept.join("satchel-summary.json"), summary.to_string())?;
    }
    Ok(())
}
