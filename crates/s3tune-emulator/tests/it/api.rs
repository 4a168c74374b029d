//! The S3 API as aws-sdk-s3 sees it: semantics and S3's error codes.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use md5::{Digest, Md5};
use s3tune_emulator::{NetworkProfile, synthetic};

use crate::common::{RawConn, bytes, client, client_with, code_of, presign_get, start};

const MIB: usize = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bucket_lifecycle_and_errors() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("alpha").send().await.unwrap();
    let again = c.create_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(
        code_of(&again),
        (Some("BucketAlreadyOwnedByYou".into()), Some(409))
    );
    c.head_bucket().bucket("alpha").send().await.unwrap();
    let missing = c.head_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(code_of(&missing).1, Some(404));
    let names: Vec<_> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert_eq!(names, vec!["alpha".to_owned()]);

    // PUT into a missing bucket does not create it.
    let put = c
        .put_object()
        .bucket("nope")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&put), (Some("NoSuchBucket".into()), Some(404)));

    c.put_object()
        .bucket("alpha")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    let busy = c.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code_of(&busy), (Some("BucketNotEmpty".into()), Some(409)));
    c.delete_object()
        .bucket("alpha")
        .key("k")
        .send()
        .await
        .unwrap();
    // Deleting a missing key succeeds, as in S3.
    c.delete_object()
        .bucket("alpha")
        .key("k")
        .send()
        .await
        .unwrap();
    c.delete_bucket().bucket("alpha").send().await.unwrap();
    assert!(c.list_buckets().send().await.unwrap().buckets().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_get_round_trips_with_md5_etags() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    for (i, len) in [0usize, 1, 8 * MIB - 1, 8 * MIB, 8 * MIB + 1]
        .into_iter()
        .enumerate()
    {
        let body = bytes(len, i as u8);
        let key = format!("obj-{len}");
        let put = c
            .put_object()
            .bucket("data")
            .key(&key)
            .content_type("application/x-test")
            .metadata("origin", "test")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap();
        let want_etag = format!("\"{}\"", hex::encode(Md5::digest(&body)));
        assert_eq!(put.e_tag(), Some(want_etag.as_str()));
        let got = c
            .get_object()
            .bucket("data")
            .key(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_length(), Some(len as i64));
        assert_eq!(got.e_tag(), Some(want_etag.as_str()));
        assert_eq!(got.content_type(), Some("application/x-test"));
        assert_eq!(
            got.metadata()
                .and_then(|m| m.get("origin"))
                .map(String::as_str),
            Some("test")
        );
        assert!(got.last_modified().is_some());
        let data = got.body.collect().await.unwrap().into_bytes();
        assert!(data.as_ref() == body.as_slice(), "{len} bytes differ");
    }
    let missing = c
        .get_object()
        .bucket("data")
        .key("absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing), (Some("NoSuchKey".into()), Some(404)));
    let missing = c
        .get_object()
        .bucket("absent")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing), (Some("NoSuchBucket".into()), Some(404)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranges_as_s3_answers_them() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let body = bytes(1000, 7);
    c.put_object()
        .bucket("data")
        .key("k")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    for (range, start, end) in [
        ("bytes=0-9", 0, 10),
        ("bytes=990-", 990, 1000),
        ("bytes=-10", 990, 1000),
        ("bytes=500-5000", 500, 1000),
    ] {
        let got = c
            .get_object()
            .bucket("data")
            .key("k")
            .range(range)
            .send()
            .await
            .unwrap();
        let want_cr = format!("bytes {start}-{}/1000", end - 1);
        assert_eq!(got.content_range(), Some(want_cr.as_str()), "{range}");
        assert_eq!(got.content_length(), Some((end - start) as i64));
        let data = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(data.as_ref(), &body[start..end], "{range}");
    }
    let bad = c
        .get_object()
        .bucket("data")
        .key("k")
        .range("bytes=1000-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&bad), (Some("InvalidRange".into()), Some(416)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_requests_get_412_and_304() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let etag = c
        .put_object()
        .bucket("data")
        .key("k")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned();
    let stale = "\"00000000000000000000000000000000\"";

    let ok = c
        .get_object()
        .bucket("data")
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ok.body.collect().await.unwrap().into_bytes().as_ref(),
        b"hello"
    );
    let e = c
        .get_object()
        .bucket("data")
        .key("k")
        .if_match(stale)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("PreconditionFailed".into()), Some(412)));
    let e = c
        .get_object()
        .bucket("data")
        .key("k")
        .range("bytes=0-1")
        .if_match(stale)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e).1, Some(412), "ranged GETs are conditional too");
    let e = c
        .head_object()
        .bucket("data")
        .key("k")
        .if_match(stale)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e).1, Some(412));

    let e = c
        .get_object()
        .bucket("data")
        .key("k")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e).1, Some(304));
    c.get_object()
        .bucket("data")
        .key("k")
        .if_none_match(stale)
        .send()
        .await
        .unwrap();

    let future = aws_sdk_s3::primitives::DateTime::from_secs(4_000_000_000);
    let past = aws_sdk_s3::primitives::DateTime::from_secs(1_000_000_000);
    let e = c
        .get_object()
        .bucket("data")
        .key("k")
        .if_modified_since(future)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e).1, Some(304));
    c.get_object()
        .bucket("data")
        .key("k")
        .if_modified_since(past)
        .send()
        .await
        .unwrap();
    let e = c
        .get_object()
        .bucket("data")
        .key("k")
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e).1, Some(412));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_upload_semantics() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let parts_data = [bytes(5 * MIB, 1), bytes(5 * MIB, 2), bytes(1234, 3)];
    let id = c
        .create_multipart_upload()
        .bucket("data")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut done = Vec::new();
    // Upload out of order: S3 orders by part number, not arrival.
    for n in [3, 1, 2] {
        let r = c
            .upload_part()
            .bucket("data")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(parts_data[n as usize - 1].clone()))
            .send()
            .await
            .unwrap();
        done.push((n, r.e_tag().unwrap().to_owned()));
    }
    done.sort();
    let listed = c
        .list_parts()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let sizes: Vec<_> = listed
        .parts()
        .iter()
        .map(|p| (p.part_number().unwrap(), p.size().unwrap()))
        .collect();
    assert_eq!(
        sizes,
        vec![(1, 5 * MIB as i64), (2, 5 * MIB as i64), (3, 1234)]
    );

    let completed = |list: &[(i32, String)]| {
        CompletedMultipartUpload::builder()
            .set_parts(Some(
                list.iter()
                    .map(|(n, e)| CompletedPart::builder().part_number(*n).e_tag(e).build())
                    .collect(),
            ))
            .build()
    };
    // Out of order, unknown part, wrong ETag: S3's errors, and the upload stays.
    let rev: Vec<_> = done.iter().rev().cloned().collect();
    let e = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&rev))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("InvalidPartOrder".into()), Some(400)));
    let e = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, done[0].1.clone()), (9, done[1].1.clone())]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("InvalidPart".into()), Some(400)));
    let e = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, "\"0123\"".into())]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("InvalidPart".into()), Some(400)));
    let e = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(CompletedMultipartUpload::builder().build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("MalformedXML".into()), Some(400)));

    let r = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&done))
        .send()
        .await
        .unwrap();
    let mut h = Md5::new();
    for p in &parts_data {
        h.update(Md5::digest(p));
    }
    let want = format!("\"{}-3\"", hex::encode(h.finalize()));
    assert_eq!(r.e_tag(), Some(want.as_str()));
    let got = c
        .get_object()
        .bucket("data")
        .key("mp")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(want.as_str()));
    let data = got.body.collect().await.unwrap().into_bytes();
    assert!(data.as_ref() == parts_data.concat().as_slice());
    // GET ?partNumber=2 returns that part, and says how many there are.
    let p2 = c
        .get_object()
        .bucket("data")
        .key("mp")
        .part_number(2)
        .send()
        .await
        .unwrap();
    assert_eq!(p2.parts_count(), Some(3));
    assert!(p2.body.collect().await.unwrap().into_bytes().as_ref() == parts_data[1].as_slice());
    // The upload is gone once completed.
    let e = c
        .list_parts()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("NoSuchUpload".into()), Some(404)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_in_progress_are_listed_by_prefix_and_go_with_their_bucket() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("ups").send().await.unwrap();
    let mut ids = Vec::new();
    for key in ["a/1", "a/2", "b/1", "a/1"] {
        let r = c
            .create_multipart_upload()
            .bucket("ups")
            .key(key)
            .send()
            .await
            .unwrap();
        ids.push(r.upload_id().unwrap().to_owned());
    }
    let listed = c
        .list_multipart_uploads()
        .bucket("ups")
        .prefix("a/")
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = listed.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["a/1", "a/1", "a/2"]);
    // Pages of one, resumed from the markers, give the same uploads once each.
    let (mut seen, mut key, mut id) = (Vec::new(), None::<String>, None::<String>);
    loop {
        let page = c
            .list_multipart_uploads()
            .bucket("ups")
            .max_uploads(1)
            .set_key_marker(key.clone())
            .set_upload_id_marker(id.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.uploads()
                .iter()
                .filter_map(|u| u.upload_id().map(str::to_owned)),
        );
        if !page.is_truncated().unwrap_or(false) {
            break;
        }
        key = page.next_key_marker().map(str::to_owned);
        id = page.next_upload_id_marker().map(str::to_owned);
    }
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    let rolled = c
        .list_multipart_uploads()
        .bucket("ups")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = rolled
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["a/", "b/"]);
    // S3 deletes a bucket with uploads in progress, and they go with it.
    c.delete_bucket().bucket("ups").send().await.unwrap();
    c.create_bucket().bucket("ups").send().await.unwrap();
    let after = c
        .list_multipart_uploads()
        .bucket("ups")
        .send()
        .await
        .unwrap();
    assert!(after.uploads().is_empty());
    assert_eq!(server.store().uploads_in_progress(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn small_parts_and_aborts() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let id = c
        .create_multipart_upload()
        .bucket("data")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let mut done = Vec::new();
    for n in 1..=2 {
        let r = c
            .upload_part()
            .bucket("data")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(bytes(MIB, n as u8)))
            .send()
            .await
            .unwrap();
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(r.e_tag().unwrap())
                .build(),
        );
    }
    let e = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("EntityTooSmall".into()), Some(400)));
    c.abort_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let e = c
        .upload_part()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .part_number(3)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("NoSuchUpload".into()), Some(404)));
    let e = c
        .abort_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id("unknown")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("NoSuchUpload".into()), Some(404)));
    let e = c
        .get_object()
        .bucket("data")
        .key("mp")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&e).1,
        Some(404),
        "an aborted upload leaves no object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_pages_and_prefixes() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let keys = ["a/1", "a/2", "b/1", "c", "d/x/1", "d/y"];
    for k in keys {
        c.put_object()
            .bucket("data")
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    }
    // Paginate two at a time without a delimiter: every key once, in order.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("data")
            .max_keys(2)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        seen.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        assert!(page.contents().len() <= 2);
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(seen, keys);
    // With a delimiter, paginating one at a time, prefixes come once each.
    let mut items = Vec::new();
    let mut token = None;
    loop {
        let page = c
            .list_objects_v2()
            .bucket("data")
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        items.extend(
            page.common_prefixes()
                .iter()
                .map(|p| p.prefix().unwrap().to_owned()),
        );
        items.extend(page.contents().iter().map(|o| o.key().unwrap().to_owned()));
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
    }
    assert_eq!(items, ["a/", "b/", "c", "d/"]);
    let page = c
        .list_objects_v2()
        .bucket("data")
        .prefix("d/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        ["d/y"]
    );
    assert_eq!(
        page.common_prefixes()
            .iter()
            .map(|p| p.prefix().unwrap())
            .collect::<Vec<_>>(),
        ["d/x/"]
    );
    let page = c
        .list_objects_v2()
        .bucket("data")
        .start_after("c")
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_object_shares_bytes_and_replaces_metadata() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    c.create_bucket().bucket("other").send().await.unwrap();
    let body = bytes(3000, 9);
    let put = c
        .put_object()
        .bucket("data")
        .key("src")
        .metadata("m", "1")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    let r = c
        .copy_object()
        .bucket("other")
        .key("dst")
        .copy_source("data/src")
        .send()
        .await
        .unwrap();
    assert_eq!(r.copy_object_result().unwrap().e_tag(), put.e_tag());
    let got = c
        .get_object()
        .bucket("other")
        .key("dst")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.metadata().unwrap().get("m").map(String::as_str),
        Some("1")
    );
    assert!(got.body.collect().await.unwrap().into_bytes().as_ref() == body.as_slice());
    c.copy_object()
        .bucket("other")
        .key("dst2")
        .copy_source("data/src")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .metadata("m", "2")
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("other")
        .key("dst2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.metadata().unwrap().get("m").map(String::as_str),
        Some("2")
    );
    let e = c
        .copy_object()
        .bucket("other")
        .key("x")
        .copy_source("data/absent")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("NoSuchKey".into()), Some(404)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synthetic_objects_verify_and_are_stable() {
    let size = 40 * MIB as u64 + 3;
    let server = s3tune_emulator::Emulator::start(s3tune_emulator::EmulatorConfig {
        objects: vec![format!("syn/big.bin={size}").parse().unwrap()],
        ..Default::default()
    })
    .await
    .unwrap();
    let c = client(&server);
    let head = c
        .head_object()
        .bucket("syn")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(size as i64));
    let want = format!("\"{}\"", synthetic::etag("big.bin", size));
    assert_eq!(head.e_tag(), Some(want.as_str()));
    let got = c
        .get_object()
        .bucket("syn")
        .key("big.bin")
        .send()
        .await
        .unwrap();
    let data = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(data.len() as u64, size);
    assert_eq!(synthetic::verify("big.bin", 0, &data), None);
    // A range verifies at its own offset and fails at another.
    let got = c
        .get_object()
        .bucket("syn")
        .key("big.bin")
        .range("bytes=1000003-2000000")
        .send()
        .await
        .unwrap();
    let part = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(synthetic::verify("big.bin", 1_000_003, &part), None);
    assert!(synthetic::verify("big.bin", 1_000_011, &part).is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_and_keys_are_checked() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let wrong_secret = client_with(&server, server.access_key(), "not-the-secret");
    let e = wrong_secret.list_buckets().send().await.unwrap_err();
    assert_eq!(
        code_of(&e),
        (Some("SignatureDoesNotMatch".into()), Some(403))
    );
    let e = wrong_secret
        .get_object()
        .bucket("data")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&e),
        (Some("SignatureDoesNotMatch".into()), Some(403))
    );
    let unknown = client_with(&server, "AKIAUNKNOWN", server.secret_key());
    let e = unknown.list_buckets().send().await.unwrap_err();
    assert_eq!(code_of(&e), (Some("InvalidAccessKeyId".into()), Some(403)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presigned_urls_path_and_virtual_host_style() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let body = bytes(5000, 3);
    c.put_object()
        .bucket("data")
        .key("dir/k")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();

    let (uri, headers) = presign_get(&c, "data", "dir/k", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let r = conn.get(&uri, &headers, None).await;
    assert_eq!(r.status, 200);
    assert!(r.body == body);
    // Tampering with the signed URL is caught.
    let r = conn
        .get(&uri.replace("dir/k", "dir/j"), &headers, None)
        .await;
    assert_eq!(r.status, 403);

    // Virtual-host style: bucket in the Host header, signed that way.
    let vconf = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://localhost:{}", server.addr().port()))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            server.access_key(),
            server.secret_key(),
            None,
            None,
            "t",
        ))
        .force_path_style(false)
        .build();
    let vc = aws_sdk_s3::Client::from_conf(vconf);
    let (uri, headers) = presign_get(&vc, "data", "dir/k", Some("bytes=10-19".into())).await;
    let host = uri
        .parse::<http::Uri>()
        .unwrap()
        .authority()
        .unwrap()
        .to_string();
    assert!(host.starts_with("data.localhost:"), "{uri}");
    let r = conn.get(&uri, &headers, Some(&host)).await;
    assert_eq!(r.status, 206);
    assert_eq!(r.body, &body[10..20]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_s3_errors_not_dropped_connections() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let mut conn = RawConn::connect(server.addr()).await;
    // Unsigned, garbage auth, a bad range, a bad bucket name: each gets an S3 error
    // status, and the connection stays usable.
    let base = format!("{}/data/k", server.endpoint());
    let cases: Vec<(String, Vec<(String, String)>)> = vec![
        (base.clone(), vec![]),
        (
            base.clone(),
            vec![("authorization".into(), "AWS4-HMAC-SHA256 garbage".into())],
        ),
        (base.clone(), vec![("range".into(), "bytes=zz".into())]),
        (format!("{}/UP_PER/k", server.endpoint()), vec![]),
        (
            format!("{}/data/k?partNumber=abc", server.endpoint()),
            vec![],
        ),
    ];
    for (uri, headers) in cases {
        let r = conn.get(&uri, &headers, None).await;
        assert!(
            (400..500).contains(&r.status),
            "{uri} {headers:?}: {}",
            r.status
        );
        assert!(
            String::from_utf8_lossy(&r.body).contains("<Code>"),
            "{uri}: S3 error XML"
        );
        assert!(conn.is_open(), "{uri}: connection kept");
    }
}
