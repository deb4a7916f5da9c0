//! Checks of the files a command will write, made before it reads its input or creates any
//! file: an output must not be one of the files it reads (creating it would empty the input
//! before it is read), and `scan --state` must be writable before the scan, not after it.

use std::fs::Metadata;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// Refuses when one of `outputs` (each named by its flag: `("-o", path)`) is the same file
/// as one of `reads` (each named: `("the input", path)`, `("--state", path)`) or as another
/// output. Files are the same when they are one regular file (same device and inode, through
/// any link); a path that does not exist yet is compared by name. `-` (standard input) is no
/// file. Other kinds of files (`/dev/null`, a pipe) lose nothing when written.
///
/// # Errors
/// The first clash, naming both flags and the file.
pub fn refuse_overwriting(
    outputs: &[(&str, Option<&Path>)],
    reads: &[(&str, &Path)],
) -> anyhow::Result<()> {
    let outputs: Vec<(&str, &Path)> = outputs
        .iter()
        .filter_map(|&(flag, path)| Some((flag, path?)))
        .collect();
    for (i, &(flag, out)) in outputs.iter().enumerate() {
        for &(what, read) in reads {
            if read != Path::new("-") && same_file(out, read) {
                bail!(
                    "{flag} {} is {what} {}: writing it would destroy it before it is read \
                     (choose another file for {flag})",
                    out.display(),
                    read.display()
                );
            }
        }
        for &(other, earlier) in &outputs[..i] {
            if same_file(out, earlier) {
                bail!(
                    "{flag} {} is the same file as {other} {}: choose another file for one of them",
                    out.display(),
                    earlier.display()
                );
            }
        }
    }
    Ok(())
}

/// Whether `a` and `b` are one regular file, or (neither existing) one name.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => ma.is_file() && mb.is_file() && same_inode(&ma, &mb, a, b),
        (Err(_), Err(_)) => absolute(a) == absolute(b),
        _ => false,
    }
}

#[cfg(unix)]
fn same_inode(ma: &Metadata, mb: &Metadata, _: &Path, _: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    ma.dev() == mb.dev() && ma.ino() == mb.ino()
}

#[cfg(not(unix))]
fn same_inode(_: &Metadata, _: &Metadata, a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

fn absolute(p: &Path) -> Option<PathBuf> {
    std::path::absolute(p).ok()
}

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
    fn an_output_may_not_be_an_input_or_another_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.jsonl");
        std::fs::write(&input, "x\n").unwrap();
        let link = dir.path().join("link.jsonl");
        std::fs::hard_link(&input, &link).unwrap();
        let other = dir.path().join("out.jsonl");
        let reads = [("the input", input.as_path())];

        let err = refuse_overwriting(&[("-o", Some(&link))], &reads).unwrap_err();
        assert!(
            err.to_string().starts_with("-o ") && err.to_string().contains("is the input"),
            "{err}"
        );
        assert!(refuse_overwriting(&[("-o", Some(&other))], &reads).is_ok());
        assert!(refuse_overwriting(&[("-o", None)], &reads).is_ok());
        let err = refuse_overwriting(&[("-o", Some(&other)), ("--users", Some(&other))], &reads)
            .unwrap_err();
        assert!(err.to_string().contains("the same file as -o"), "{err}");
        // Writing to a device destroys nothing.
        let null = Path::new("/dev/null");
        if null.exists() {
            assert!(refuse_overwriting(&[("-o", Some(null))], &[("the input", null)]).is_ok());
        }
        // Standard input is no file.
        let stdin = Path::new("-");
        assert!(refuse_overwriting(&[("-o", Some(stdin))], &[("the input", stdin)]).is_ok());
    }

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
