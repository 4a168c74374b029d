//! Uploads: sizes at the edges and random configurations, checked by downloading back.

use rand::SeedableRng;
use s3tune_emulator::NetworkProfile;
use s3tune_transfer::{Transfer, TransferConfig, TransferError};

use crate::common::{MIB, bytes, client, random_config, serve};

async fn read_back(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> (Vec<u8>, String) {
    let got = c.get_object().bucket(bucket).key(key).send().await.unwrap();
    let etag = got.e_tag().unwrap().to_owned();
    (
        got.body.collect().await.unwrap().into_bytes().to_vec(),
        etag,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_at_the_edges_upload_byte_identical() {
    let server = serve(NetworkProfile::unlimited(), &[]).await;
    let c = client(&server);
    c.create_bucket().bucket("uploads").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = 8 * MIB;
    let transfer = Transfer::new(c.clone(), TransferConfig::default());
    for size in [0, 1, t - 1, t, t + 1, 1024 * MIB] {
        let data = bytes(size, size);
        let src = dir.path().join("src.bin");
        std::fs::write(&src, &data).unwrap();
        let stats = transfer
            .upload(&src, "uploads", &format!("k{size}"))
            .await
            .unwrap();
        assert_eq!(stats.bytes, size);
        let (got, etag) = read_back(&c, "uploads", &format!("k{size}")).await;
        assert!(got == data, "{size} bytes differ");
        let multipart = size >= t;
        assert_eq!(
            etag.trim_matches('"').contains('-'),
            multipart,
            "{size}: {etag}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_random_configurations_upload_byte_identical() {
    let server = serve(NetworkProfile::unlimited(), &[]).await;
    let c = client(&server);
    c.create_bucket().bucket("uploads").send().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = bytes(17 * MIB + 3, 1);
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &data).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for round in 0..50 {
        let config = random_config(&mut rng);
        let key = format!("r{round}");
        Transfer::new(c.clone(), config.clone())
            .upload(&src, "uploads", &key)
            .await
            .unwrap_or_else(|e| panic!("{config:?}: {e}"));
        assert!(read_back(&c, "uploads", &key).await.0 == data, "{config:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_errors_are_clear() {
    let server = serve(NetworkProfile::unlimited(), &[]).await;
    let transfer = Transfer::new(client(&server), TransferConfig::default());
    let dir = tempfile::tempdir().unwrap();
    let e = transfer
        .upload(&dir.path().join("missing.bin"), "uploads", "k")
        .await
        .unwrap_err();
    assert!(matches!(e, TransferError::Source { .. }), "{e}");
    let src = dir.path().join("f.bin");
    std::fs::write(&src, b"hello").unwrap();
    let e = transfer.upload(&src, "nobucket", "k").await.unwrap_err();
    assert!(matches!(e, TransferError::NoSuchBucket { .. }), "{e}");
}
