//! Checks of the files a command will write, made before it reads its input or creates any
//! file: `scan --state` must be writable before the scan, not after it.

use std::path::Path;

use anyhow::{Context as _, bail};

/// Checks that the `--state` file can be written where it will be, before the scan reads
/// anything: it is not a folder, and its folder exists and takes a new file (the state is
/// written to a temporary file beside it, then renamed over it). The probe file is removed
/// at once.
///
/// # Errors
/// What stands in the way, naming the state file.
pub fn check_state_writable(path: &Path) -> anyhow::Result<()> {
    if path.is_dir() {
        bail!("--state {} is a folder, not a file", path.display());
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!(
            "--state {}: {} is not a folder",
            path.display(),
            dir.display()
        ),
        Err(e) => bail!(
            "--state {}: the folder {} cannot be used: {e} (create it first)",
            path.display(),
            dir.display()
        ),
    }
    tempfile::Builder::new()
        .prefix(".jetlag-state-probe")
        .tempfile_in(dir)
        .with_context(|| {
            format!(
                "--state {}: cannot write in the folder {}",
                path.display(),
                dir.display()
            )
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_folder_must_exist_and_take_a_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_state_writable(&dir.path().join("s.state")).is_ok());
        let err = check_state_writable(&dir.path().join("nope/s.state")).unwrap_err();
        assert!(err.to_string().contains("create it first"), "{err}");
        let err = check_state_writable(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a folder"), "{err}");
        // Nothing is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
