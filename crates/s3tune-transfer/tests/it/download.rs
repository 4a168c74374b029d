//! Downloads: sizes at the edges, random configurations, faults, changes, bad input.

use std::sync::Arc;

use rand::SeedableRng;
use s3tune_emulator::NetworkProfile;
use s3tune_transfer::{Discovery, Transfer, TransferConfig, TransferError};

use crate::common::{
    MIB, assert_memory_bound, client, entries, random_config, serve, verify_synthetic,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sizes_at_the_edges_arrive_byte_identical() {
    let t = 8 * MIB;
    let sizes = [0, 1, t - 1, t, t + 1, 1024 * MIB];
    let specs: Vec<String> = sizes.iter().map(|s| format!("edges/obj-{s}={s}")).collect();
    let server = serve(
        NetworkProfile::unlimited(),
        &specs.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let config = TransferConfig::default();
    for discovery in [Discovery::Head, Discovery::FirstGet] {
        let transfer = Transfer::new(client(&server), config.clone()).with_discovery(discovery);
        for size in sizes {
            let key = format!("obj-{size}");
            let (path, stats) = transfer.download("edges", &key, dir.path()).await.unwrap();
            assert_eq!(path, dir.path().join(&key));
            verify_synthetic(&path, &key, size);
            assert_eq!(stats.bytes, size);
            let parts = match size {
                0 => 0,
                s if s < t => 1,
                s => s.div_ceil(t),
            };
            assert_eq!(stats.parts, parts, "{size} with {discovery:?}");
            // Discovery by GET saves the HEAD's request.
            let extra = match (discovery, size) {
                (Discovery::Head, _) => 1,
                (Discovery::FirstGet, 0) => 2, // a range of nothing is 416, then a HEAD
                (Discovery::FirstGet, _) => 0,
            };
            assert_eq!(stats.requests, parts + extra, "{size} with {discovery:?}");
            assert_memory_bound(&stats, &config);
            std::fs::remove_file(&path).unwrap();
        }
    }
    assert!(entries(dir.path()).is_empty(), "no temporary files left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_random_configurations_arrive_byte_identical() {
    let server = serve(
        NetworkProfile::unlimited(),
        &["cfgs/a=23000017", "cfgs/b=6000000"],
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
    for round in 0..50 {
        let config = random_config(&mut rng);
        let transfer = Transfer::new(client(&server), config.clone());
        let (key, size) = if round % 3 == 0 {
            ("b", 6_000_000)
        } else {
            ("a", 23_000_017)
        };
        let dest = dir.path().join(format!("r{round}.bin"));
        let (path, stats) = transfer
            .download("cfgs", key, &dest)
            .await
            .unwrap_or_else(|e| panic!("{config:?}: {e}"));
        verify_synthetic(&path, key, size);
        assert_memory_bound(&stats, &config);
        if !config.use_threads {
            assert!(stats.parts == 1 || stats.requests > 1);
        }
        std::fs::remove_file(&path).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_a_writer_the_bytes_come_in_order() {
    let server = serve(NetworkProfile::unlimited(), &["ordered/x=30000001"]).await;
    let config = TransferConfig {
        multipart_chunksize: 5 * MIB,
        max_concurrency: 8,
        ..Default::default()
    };
    let transfer = Transfer::new(client(&server), config);
    let mut out: Vec<u8> = Vec::new();
    let stats = transfer
        .download_to("ordered", "x", &mut out)
        .await
        .unwrap();
    assert_eq!(stats.bytes, 30_000_001);
    assert_eq!(s3tune_emulator::synthetic::verify("x", 0, &out), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_faulty_100_downloads_are_all_right() {
    let server = serve(NetworkProfile::faulty(), &["faulty/obj=64MiB"]).await;
    let dir = tempfile::tempdir().unwrap();
    let transfer = Transfer::new(client(&server), TransferConfig::default());
    let mut retries = 0;
    for i in 0..100 {
        let dest = dir.path().join(format!("{i}.bin"));
        let (path, stats) = transfer.download("faulty", "obj", &dest).await.unwrap();
        verify_synthetic(&path, "obj", 64 * MIB);
        retries += stats.retries;
        std::fs::remove_file(&path).unwrap();
    }
    let s = server.stats();
    assert!(
        s.resets > 0 && s.injected_slowdowns > 0,
        "faults were injected: {s:?}"
    );
    assert!(retries > 0, "broken bodies were refetched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_resets_fail_cleanly() {
    let net = NetworkProfile {
        reset_probability: 1.0,
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["broken/obj=20MiB"]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = TransferConfig {
        num_download_attempts: 3,
        ..Default::default()
    };
    let err = Transfer::new(client(&server), config)
        .download("broken", "obj", dir.path())
        .await
        .unwrap_err();
    assert!(
        matches!(err, TransferError::BodyBroken { attempts: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("num_download_attempts"), "{err}");
    assert!(
        entries(dir.path()).is_empty(),
        "no file and no temporary file: {:?}",
        entries(dir.path())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_mid_download_fails_with_412() {
    let net = NetworkProfile {
        connection_bandwidth: Some(s3tune_emulator::Rate(20e6)),
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["moving/obj=20MiB"]).await;
    let dir = tempfile::tempdir().unwrap();
    let config = TransferConfig {
        max_concurrency: 1,
        multipart_chunksize: 5 * MIB,
        ..Default::default()
    };
    let transfer = Transfer::new(client(&server), config);
    let progress = transfer.progress();
    let store = Arc::clone(server.store());
    let replace = tokio::spawn(async move {
        while progress.done() == 0 {
            tokio::task::yield_now().await;
        }
        store.put_synthetic("moving", "obj", 20 * MIB + 1).unwrap();
    });
    let err = transfer
        .download("moving", "obj", dir.path())
        .await
        .unwrap_err();
    replace.await.unwrap();
    assert!(matches!(err, TransferError::Changed { .. }), "{err}");
    assert!(err.to_string().contains("412"), "{err}");
    assert!(entries(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_bucket_key_and_destination_are_clear_errors() {
    let server = serve(NetworkProfile::unlimited(), &["there/obj=10"]).await;
    let dir = tempfile::tempdir().unwrap();
    let transfer = Transfer::new(client(&server), TransferConfig::default());
    let e = transfer
        .download("absent", "obj", dir.path())
        .await
        .unwrap_err();
    assert!(matches!(e, TransferError::NoSuchBucket { .. }), "{e}");
    let e = transfer
        .download("there", "nope", dir.path())
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "s3://there/nope does not exist");
    let e = transfer
        .download("there", "obj", &dir.path().join("no/such/dir/x"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not exist"), "{e}");
    let bad = TransferConfig {
        multipart_chunksize: MIB,
        ..Default::default()
    };
    let e = Transfer::new(client(&server), bad)
        .download("there", "obj", dir.path())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("5 MiB to 5 GiB"), "{e}");
    assert!(entries(dir.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_retries_of_503_show_in_the_stats() {
    // 40 parts, 30 % of requests answered 503: some retries are certain (1 - 0.7^40), and
    // with 10 attempts a request that never gets through is not (40 · 0.3^10 ≈ 2e-4).
    let net = NetworkProfile {
        slowdown_probability: 0.3,
        seed: 3,
        ..NetworkProfile::unlimited()
    };
    let server = serve(net, &["slow/obj=200MiB"]).await;
    let dir = tempfile::tempdir().unwrap();
    let patient = client(&server)
        .config()
        .to_builder()
        .retry_config(
            aws_sdk_s3::config::retry::RetryConfig::standard()
                .with_max_attempts(10)
                .with_initial_backoff(std::time::Duration::from_millis(5)),
        )
        .build();
    let config = TransferConfig {
        multipart_chunksize: 5 * MIB,
        multipart_threshold: 5 * MIB,
        ..Default::default()
    };
    let (path, stats) = Transfer::new(aws_sdk_s3::Client::from_conf(patient), config)
        .download("slow", "obj", dir.path())
        .await
        .unwrap();
    verify_synthetic(&path, "obj", 200 * MIB);
    let throttled = server.stats().injected_slowdowns;
    assert!(throttled > 0);
    assert_eq!(
        stats.retries, throttled,
        "each 503 was retried by the SDK and counted"
    );
    assert_eq!(
        stats.requests, 40,
        "40 parts, discovery included in the first"
    );
}
