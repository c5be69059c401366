//! Attachment content (첨부파일), stored by its SHA-256.
//!
//! The log records what a document's attachments are — name, size, type and the SHA-256 of
//! the bytes — inside the drafter's commands; the bytes themselves live here, named by that
//! hash. Storing the same bytes twice stores them once, a stored file can never be swapped
//! for other bytes under the same name without `erp verify --attachments` finding it, and a
//! document can only name content that was uploaded (the command API checks before it
//! records).
//!
//! - [`DirStore`]: files under the data directory (`attachments/ab/abcd…`), written to a
//!   temporary name, synced, then renamed, so a crash leaves no half file under a real name.
//!   The embedded default.
//! - [`GridFsStore`]: MongoDB GridFS in the distributed roles, on the read side's server (no
//!   new server), one GridFS file per hash.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// What went wrong with the store itself (not with the caller's request).
#[derive(Debug, thiserror::Error)]
#[error("attachment store: {0}")]
pub struct AttachmentError(pub String);

/// The SHA-256 of `bytes`, lowercase hex: an attachment's name in every store.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Whether `name` is a SHA-256 in lowercase hex (what a store may be asked for).
pub fn is_sha256_hex(name: &str) -> bool {
    name.len() == 64 && name.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where attachment content is kept, by SHA-256.
#[async_trait]
pub trait AttachmentStore: Send + Sync + std::fmt::Debug {
    /// Keeps `bytes` under their SHA-256, records that `uploader` (an employee id) uploaded
    /// them, and returns the hash; keeping the same bytes again stores nothing new.
    async fn put(&self, bytes: &[u8], uploader: &str) -> Result<String, AttachmentError>;
    /// Whether `uploader` uploaded the content under `sha256`. A draft may name only content
    /// its drafter uploaded: knowing a hash (from a document one could once see) is not enough.
    async fn uploaded_by(&self, sha256: &str, uploader: &str) -> Result<bool, AttachmentError>;
    /// The bytes kept under `sha256`, if any.
    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, AttachmentError>;
    /// How many bytes are kept under `sha256`, if any, without reading them.
    async fn size(&self, sha256: &str) -> Result<Option<u64>, AttachmentError>;
}

/// Files under a directory, two hex digits of fan-out.
#[derive(Debug, Clone)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// The marker that `uploader` uploaded `sha256`: `owners/ab/abcd…/<uploader>`.
    fn owner_marker(&self, sha256: &str, uploader: &str) -> PathBuf {
        self.root.join("owners").join(&sha256[..2]).join(sha256).join(uploader)
    }
}

/// Whether `uploader` is safe as a file name and a key: an id of letters, digits and hyphens.
fn plain_id(uploader: &str) -> bool {
    !uploader.is_empty() && uploader.len() <= 64 && uploader.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn io(e: std::io::Error) -> AttachmentError {
    AttachmentError(e.to_string())
}

#[async_trait]
impl AttachmentStore for DirStore {
    async fn put(&self, bytes: &[u8], uploader: &str) -> Result<String, AttachmentError> {
        if !plain_id(uploader) {
            return Err(AttachmentError(format!("{uploader:?} is not an uploader id")));
        }
        let sha256 = sha256_hex(bytes);
        let marker = self.owner_marker(&sha256, uploader);
        if let Some(dir) = marker.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        tokio::fs::write(&marker, b"").await.map_err(io)?;
        let path = self.path_of(&sha256);
        if tokio::fs::try_exists(&path).await.map_err(io)? {
            return Ok(sha256);
        }
        let dir = path.parent().map(PathBuf::from).unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await.map_err(io)?;
        let temp = dir.join(format!(".{sha256}.{}", uuid::Uuid::now_v7().simple()));
        let written = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
            file.sync_all().await?;
            tokio::fs::rename(&temp, &path).await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io(e));
        }
        Ok(sha256)
    }

    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, AttachmentError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match tokio::fs::read(self.path_of(sha256)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn uploaded_by(&self, sha256: &str, uploader: &str) -> Result<bool, AttachmentError> {
        if !is_sha256_hex(sha256) || !plain_id(uploader) {
            return Ok(false);
        }
        tokio::fs::try_exists(self.owner_marker(sha256, uploader))
            .await
            .map_err(io)
    }

    async fn size(&self, sha256: &str) -> Result<Option<u64>, AttachmentError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        match tokio::fs::metadata(self.path_of(sha256)).await {
            Ok(meta) => Ok(Some(meta.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }
}

/// MongoDB GridFS (bucket `attachments`): one file per SHA-256, named by it.
#[derive(Debug, Clone)]
pub struct GridFsStore {
    bucket: mongodb::gridfs::GridFsBucket,
    /// Who uploaded what: one document per (hash, uploader).
    owners: mongodb::Collection<mongodb::bson::Document>,
}

fn mongo(e: impl std::fmt::Display) -> AttachmentError {
    AttachmentError(e.to_string())
}

impl GridFsStore {
    pub async fn connect(uri: &str, database: &str) -> Result<Self, AttachmentError> {
        let client = mongodb::Client::with_uri_str(uri).await.map_err(mongo)?;
        let options = mongodb::options::GridFsBucketOptions::builder()
            .bucket_name("attachments".to_owned())
            .build();
        let db = client.database(database);
        Ok(Self {
            bucket: db.gridfs_bucket(options),
            owners: db.collection("attachments.owners"),
        })
    }

    async fn exists(&self, sha256: &str) -> Result<bool, AttachmentError> {
        Ok(self.stored_size(sha256).await?.is_some())
    }

    async fn stored_size(&self, sha256: &str) -> Result<Option<u64>, AttachmentError> {
        Ok(self
            .bucket
            .find_one(mongodb::bson::doc! { "filename": sha256 })
            .await
            .map_err(mongo)?
            .map(|file| file.length))
    }
}

#[async_trait]
impl AttachmentStore for GridFsStore {
    async fn put(&self, bytes: &[u8], uploader: &str) -> Result<String, AttachmentError> {
        use futures::AsyncWriteExt;
        if !plain_id(uploader) {
            return Err(AttachmentError(format!("{uploader:?} is not an uploader id")));
        }
        let sha256 = sha256_hex(bytes);
        let key = format!("{sha256}:{uploader}");
        self.owners
            .update_one(
                mongodb::bson::doc! { "_id": &key },
                mongodb::bson::doc! { "$set": { "sha256": &sha256, "uploader": uploader } },
            )
            .upsert(true)
            .await
            .map_err(mongo)?;
        if self.exists(&sha256).await? {
            return Ok(sha256);
        }
        let mut upload = self.bucket.open_upload_stream(&sha256).await.map_err(mongo)?;
        if let Err(e) = upload.write_all(bytes).await {
            let _ = upload.abort().await;
            return Err(mongo(e));
        }
        upload.close().await.map_err(mongo)?;
        Ok(sha256)
    }

    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, AttachmentError> {
        use futures::AsyncReadExt;
        if !is_sha256_hex(sha256) || !self.exists(sha256).await? {
            return Ok(None);
        }
        let mut download = self.bucket.open_download_stream_by_name(sha256).await.map_err(mongo)?;
        let mut bytes = Vec::new();
        download.read_to_end(&mut bytes).await.map_err(mongo)?;
        Ok(Some(bytes))
    }

    async fn size(&self, sha256: &str) -> Result<Option<u64>, AttachmentError> {
        if !is_sha256_hex(sha256) {
            return Ok(None);
        }
        self.stored_size(sha256).await
    }

    async fn uploaded_by(&self, sha256: &str, uploader: &str) -> Result<bool, AttachmentError> {
        if !is_sha256_hex(sha256) || !plain_id(uploader) {
            return Ok(false);
        }
        let key = format!("{sha256}:{uploader}");
        Ok(self
            .owners
            .find_one(mongodb::bson::doc! { "_id": key })
            .await
            .map_err(mongo)?
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One body for every store: content comes back under its hash, twice is once, and an
    /// unknown or malformed name is absent, not an error.
    async fn keeps_content_by_its_hash(store: &dyn AttachmentStore) {
        let bytes = "결재 첨부 — 견적서".as_bytes();
        let sha = store.put(bytes, "alice").await.unwrap();
        assert_eq!(sha, sha256_hex(bytes));
        assert_eq!(
            store.put(bytes, "alice").await.unwrap(),
            sha,
            "the same bytes again are the same file"
        );
        assert!(store.uploaded_by(&sha, "alice").await.unwrap());
        assert!(
            !store.uploaded_by(&sha, "bob").await.unwrap(),
            "knowing the hash is not uploading it"
        );
        store.put(bytes, "bob").await.unwrap();
        assert!(store.uploaded_by(&sha, "bob").await.unwrap());
        assert!(store.put(bytes, "../x").await.is_err());
        assert_eq!(store.get(&sha).await.unwrap().as_deref(), Some(bytes));
        assert_eq!(store.size(&sha).await.unwrap(), Some(bytes.len() as u64));
        assert_eq!(store.size("nope").await.unwrap(), None);
        assert_eq!(store.get(&sha256_hex(b"never stored")).await.unwrap(), None);
        assert_eq!(store.get("../../etc/passwd").await.unwrap(), None);
        let empty = store.put(b"", "alice").await.unwrap();
        assert_eq!(store.get(&empty).await.unwrap(), Some(Vec::new()));
    }

    #[tokio::test]
    async fn a_directory_keeps_content_by_its_hash() {
        let dir = tempfile::tempdir().unwrap();
        keeps_content_by_its_hash(&DirStore::new(dir.path())).await;
        let leftovers = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|d| d.as_ref().unwrap().file_name() != "owners")
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
            .filter(|f| f.as_ref().unwrap().file_name().to_string_lossy().starts_with('.'))
            .count();
        assert_eq!(leftovers, 0, "no temporary file is left behind");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gridfs_keeps_content_by_its_hash() {
        let uri =
            std::env::var("ERP_TEST_MONGO").unwrap_or_else(|_| panic!("ERP_TEST_MONGO is not set: run scripts/test"));
        let db = format!("a{}", uuid::Uuid::now_v7().simple());
        keeps_content_by_its_hash(&GridFsStore::connect(&uri, &db).await.unwrap()).await;
    }
}
