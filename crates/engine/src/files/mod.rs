//! Documents sync: Odoo record attachments ⇄ OneDrive (or SharePoint library) folders,
//! two-way, on the calendar's store, job queue, guards, conflicts, audit log and journal.
//!
//! * [`ports`]: the [`Drive`] and [`OdooAttachments`] ports the app implements.
//! * [`engine`]: [`FileSync`], the cycle (observe, plan, guard, queue, execute).
//! * [`store`]: the folder cache and chatter-note tables, and the queue/link helpers
//!   files need, on the shared store.

pub mod engine;
pub mod ports;
pub mod store;

use std::io::Read;
use std::path::Path;

use base64::Engine as _;
use sha1::Digest as _;

pub use engine::{
    FileConfig, FileConflictChoice, FileReport, FileSync, PlannedFile, ATTACHMENT_MODEL, JOB_KIND,
};
pub use ports::{
    ContentInfo, Drive, DriveDelta, DriveFile, OdooAttachment, OdooAttachments, UploadProgress,
    UploadSession, UploadTarget,
};

/// Hashes both ways at once while bytes stream by (SHA-1 for Odoo, QuickXorHash for
/// OneDrive); adapters use it so every transfer reports a [`ContentInfo`].
#[derive(Default)]
pub struct ContentHasher {
    size: u64,
    sha1: sha1::Sha1,
    qx: quickxorhash::QuickXorHash,
}

impl std::fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentHasher")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl ContentHasher {
    pub fn new() -> Self {
        ContentHasher {
            size: 0,
            sha1: sha1::Sha1::new(),
            qx: quickxorhash::QuickXorHash::new(),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        self.sha1.update(bytes);
        self.qx.update(bytes);
    }

    pub fn finish(mut self) -> ContentInfo {
        ContentInfo {
            size: self.size,
            sha1: hex::encode(self.sha1.finalize()),
            quick_xor: base64::engine::general_purpose::STANDARD.encode(self.qx.finalize()),
        }
    }
}

/// The [`ContentInfo`] of bytes in memory (tests, small values).
pub fn content_info_of(bytes: &[u8]) -> ContentInfo {
    let mut h = ContentHasher::new();
    h.update(bytes);
    h.finish()
}

/// The [`ContentInfo`] of a file, read in 64 KiB chunks (memory stays bounded).
pub fn content_info(path: &Path) -> std::io::Result<ContentInfo> {
    let mut f = std::fs::File::open(path)?;
    let mut h = ContentHasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hashes_match_the_published_vectors() {
        // SHA-1 of "abc" (FIPS 180-2) and the QuickXorHash of the empty input (all zero,
        // spec graph.md §4.2).
        let abc = content_info_of(b"abc");
        assert_eq!(abc.sha1, "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(abc.size, 3);
        let empty = content_info_of(b"");
        assert_eq!(empty.quick_xor, "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(empty.sha1, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            content_info_of(b"hello world").quick_xor,
            "aCgDG9jwBhDc4Q1yawMZAAAAAAA="
        );
    }

    #[test]
    fn a_file_hashes_like_its_bytes_in_any_chunking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        assert_eq!(content_info(&p).unwrap(), content_info_of(&data));
    }
}
