use std::collections::BTreeSet;
use std::path::Path;

fn migration_names(backend: &str) -> BTreeSet<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_the_same_names() {
    let sqlite = migration_names("sqlite");
    let postgres = migration_names("postgres");

    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "the migration folders differ");
}

#[test]
fn every_migration_has_an_up_and_a_down_script() {
    for backend in ["sqlite", "postgres"] {
        for name in migration_names(backend) {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            for script in ["up.sql", "down.sql"] {
                assert!(
                    dir.join(&name).join(script).is_file(),
                    "{backend}/{name}/{script}"
                );
            }
        }
    }
}
