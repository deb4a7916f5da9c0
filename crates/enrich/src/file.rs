//! How a database file's bytes come into memory: read into the heap, or memory-mapped.
//!
//! A map costs no copy and no fresh heap pages (a 63 MB DB-IP City file read into the heap
//! is 63 MB of page faults and copying before the first lookup), and pages the lookups never
//! touch are never loaded. Its one hazard: if the file is truncated or rewritten *in place*
//! while mapped, a lookup touching the lost part gets SIGBUS. Updaters that write a new file
//! and rename it over the old one (geoipupdate, `jetlag geoip update`) are safe: the mapping
//! keeps the old inode. So mapping is opt-in ([`EnricherBuilder::map_files`]): the batch
//! commands use it, long-running servers read (see docs/DESIGN.md, "Why map the database
//! for batch commands only?").
//!
//! [`EnricherBuilder::map_files`]: crate::EnricherBuilder::map_files

use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::{Error, Result};

/// A file's bytes.
pub(crate) enum Bytes {
    /// Read (and decompressed, for `.gz`) into the heap.
    Heap(Vec<u8>),
    /// Mapped read-only.
    Mapped(memmap2::Mmap),
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            Bytes::Heap(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(v: Vec<u8>) -> Bytes {
        Bytes::Heap(v)
    }
}

impl Bytes {
    /// Whether the bytes are mapped rather than held in the heap.
    pub(crate) fn is_mapped(&self) -> bool {
        matches!(self, Bytes::Mapped(_))
    }
}

/// The bytes of `path`, decompressed if they start with the gzip magic bytes. With `map`, an
/// uncompressed file is mapped rather than read (a file that cannot be mapped, such as a
/// pipe or an empty file, is read).
pub(crate) fn load(path: &Path, map: bool) -> Result<Bytes> {
    if map {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the map is read-only and private to this process. Another process
        // truncating the file in place while it is mapped would make the next access to
        // the lost pages raise SIGBUS; that is documented on `EnricherBuilder::map_files`,
        // which is off unless a caller (a short batch command) asks for it.
        if let Ok(mapped) = unsafe { memmap2::Mmap::map(&file) }
            && !mapped.is_empty()
        {
            if !is_gzip(&mapped) {
                return Ok(Bytes::Mapped(mapped));
            }
            return gunzip(path, &mapped).map(Bytes::Heap);
        }
        // Not mappable: read it below.
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if is_gzip(&bytes) {
        return gunzip(path, &bytes).map(Bytes::Heap);
    }
    Ok(Bytes::Heap(bytes))
}

fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() * 4);
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::io(path, e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn maps_plain_files_and_reads_gzip_and_empty_ones() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("a.bin");
        std::fs::write(&plain, b"\x00\x01plain bytes").unwrap();
        let gz = dir.path().join("a.bin.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(b"\x00\x01plain bytes").unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, b"").unwrap();

        for map in [false, true] {
            let b = load(&plain, map).unwrap();
            assert_eq!(b.as_ref(), b"\x00\x01plain bytes");
            assert_eq!(b.is_mapped(), map);
            let b = load(&gz, map).unwrap();
            assert_eq!(b.as_ref(), b"\x00\x01plain bytes", "gzip is decompressed");
            assert!(!b.is_mapped());
            let b = load(&empty, map).unwrap();
            assert!(b.as_ref().is_empty() && !b.is_mapped());
            assert!(load(&dir.path().join("missing"), map).is_err());
        }
    }
}
