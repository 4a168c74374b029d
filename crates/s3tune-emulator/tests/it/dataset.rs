//! Synthetic datasets: many objects from one spec, listed with real pagination, every
//! byte verifiable, and cheap enough to hold hundreds of thousands.

use s3tune_emulator::{Emulator, EmulatorConfig, NetworkProfile, ObjectSpec, synthetic};

use crate::common::client;

async fn serve(specs: &[&str]) -> s3tune_emulator::EmulatorHandle {
    Emulator::start(EmulatorConfig {
        network: NetworkProfile::unlimited(),
        objects: specs.iter().map(|s| s.parse().unwrap()).collect(),
        ..EmulatorConfig::default()
    })
    .await
    .expect("emulator starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_is_listed_page_by_page_and_every_byte_checks() {
    let spec = "data/img/{0000..2499}.jpg=lognormal(10KiB,0.5)";
    let server = serve(&[spec, "data/big.bin=3MiB"]).await;
    let c = client(&server);
    let want: Vec<(String, u64)> = spec.parse::<ObjectSpec>().unwrap().objects().collect();

    let mut pages = c
        .list_objects_v2()
        .bucket("data")
        .prefix("img/")
        .into_paginator()
        .send();
    let mut listed = Vec::new();
    let mut page_count = 0;
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        page_count += 1;
        listed.extend(
            page.contents()
                .iter()
                .map(|o| (o.key().unwrap().to_owned(), o.size().unwrap() as u64)),
        );
    }
    assert_eq!(page_count, 3, "2,500 keys come in pages of 1,000");
    assert_eq!(listed, want, "every object, in order, at its drawn size");

    for (key, size) in [&want[0], &want[1234], &want[2499]] {
        let got = c
            .get_object()
            .bucket("data")
            .key(key)
            .send()
            .await
            .unwrap()
            .body
            .collect()
            .await
            .unwrap()
            .to_vec();
        assert_eq!(got.len() as u64, *size);
        assert_eq!(synthetic::verify(key, 0, &got), None, "{key}: every byte");
    }
}

/// The resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dataset_costs_its_index_not_its_bytes() {
    let before = rss();
    // 200,000 objects of 1 MiB each: 195 GiB of content.
    let server = serve(&["data/s/{000000..199999}=1MiB"]).await;
    let grown = rss().saturating_sub(before);
    let per_object = grown / 200_000;
    assert!(
        per_object < 1024,
        "{per_object} bytes of memory per synthetic object ({grown} in all)"
    );
    let page = client(&server)
        .list_objects_v2()
        .bucket("data")
        .start_after("s/199997")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = page.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["s/199998", "s/199999"]);
}
