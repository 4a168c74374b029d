//! The answers real clients' default code paths depend on, each as S3 gives it: bulk
//! deletes, part copies, the older listings, stored headers, request ids and the small
//! print of errors.

use std::time::{Duration, SystemTime};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, MetadataDirective, ObjectIdentifier,
};
use s3tune_emulator::NetworkProfile;

use crate::common::{RawConn, bytes, client, code_of, presign_get, put_chunked, start};

const MIB: usize = 1024 * 1024;

async fn put(c: &Client, bucket: &str, key: &str, body: Vec<u8>) -> String {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_owned()
}

async fn get(c: &Client, bucket: &str, key: &str) -> Vec<u8> {
    c.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

async fn keys(c: &Client, bucket: &str) -> Vec<String> {
    c.list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

fn ident(key: &str) -> ObjectIdentifier {
    ObjectIdentifier::builder().key(key).build().unwrap()
}

async fn new_upload(c: &Client, bucket: &str, key: &str) -> String {
    c.create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned()
}

fn completed(parts: &[(i32, &str)]) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, e)| CompletedPart::builder().part_number(*n).e_tag(*e).build())
                .collect(),
        ))
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_objects_deletes_each_key_or_names_its_error() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    for k in ["a", "b", "c"] {
        put(&c, "data", k, b"x".to_vec()).await;
    }
    let versioned = ObjectIdentifier::builder()
        .key("c")
        .version_id("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")
        .build()
        .unwrap();
    let out = c
        .delete_objects()
        .bucket("data")
        .delete(
            Delete::builder()
                .objects(ident("a"))
                .objects(ident("never-there"))
                .objects(versioned)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort_unstable();
    assert_eq!(
        deleted,
        ["a", "never-there"],
        "a missing key is deleted all the same"
    );
    let errors: Vec<_> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap(), e.code().unwrap()))
        .collect();
    assert_eq!(
        errors,
        [("c", "NoSuchVersion")],
        "the one bad key fails alone"
    );
    assert_eq!(keys(&c, "data").await, ["b", "c"]);

    // Quiet: only errors are answered.
    let quiet = c
        .delete_objects()
        .bucket("data")
        .delete(
            Delete::builder()
                .objects(ident("b"))
                .quiet(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    assert!(quiet.deleted().is_empty() && quiet.errors().is_empty());
    assert_eq!(keys(&c, "data").await, ["c"]);

    // A key named with an ETag is deleted only while it holds that object.
    let etag = put(&c, "data", "tagged", b"v1".to_vec()).await;
    let stale = ObjectIdentifier::builder()
        .key("tagged")
        .e_tag("\"00000000000000000000000000000000\"")
        .build()
        .unwrap();
    let out = c
        .delete_objects()
        .bucket("data")
        .delete(Delete::builder().objects(stale).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.errors()[0].code(), Some("PreconditionFailed"));
    let current = ObjectIdentifier::builder()
        .key("tagged")
        .e_tag(etag)
        .build()
        .unwrap();
    let out = c
        .delete_objects()
        .bucket("data")
        .delete(Delete::builder().objects(current).build().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(out.deleted()[0].key(), Some("tagged"));

    // Without a digest of its body, a bulk delete is refused.
    let undigested = c
        .delete_objects()
        .bucket("data")
        .delete(Delete::builder().objects(ident("c")).build().unwrap())
        .customize()
        .mutate_request(|r| {
            let names: Vec<String> = r
                .headers()
                .iter()
                .map(|(k, _)| k.to_owned())
                .filter(|k| k.starts_with("x-amz-checksum-") || k == "content-md5")
                .collect();
            for k in names {
                r.headers_mut().remove(k);
            }
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&undigested),
        (Some("InvalidRequest".into()), Some(400))
    );

    // More than 1,000 keys is a malformed request, and deletes nothing.
    let many: Vec<_> = (0..1001)
        .map(|i| ident(&format!("k{i}")))
        .chain([ident("c")])
        .collect();
    let too_many = c
        .delete_objects()
        .bucket("data")
        .delete(Delete::builder().set_objects(Some(many)).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&too_many), (Some("MalformedXML".into()), Some(400)));
    let missing = c
        .delete_objects()
        .bucket("nope-bucket")
        .delete(Delete::builder().objects(ident("c")).build().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing), (Some("NoSuchBucket".into()), Some(404)));
    assert_eq!(keys(&c, "data").await, ["c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_part_copy_copies_source_ranges_into_parts() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let source = bytes(12 * MIB + 7, 9);
    put(&c, "data", "src", source.clone()).await;
    let id = new_upload(&c, "data", "dst").await;
    let cut = 5 * MIB;
    let mut etags = Vec::new();
    for (n, range) in [
        (1, format!("bytes=0-{}", cut - 1)),
        (2, format!("bytes={cut}-{}", source.len() - 1)),
    ] {
        let r = c
            .upload_part_copy()
            .bucket("data")
            .key("dst")
            .upload_id(&id)
            .part_number(n)
            .copy_source("data/src")
            .copy_source_range(range)
            .send()
            .await
            .unwrap();
        etags.push(r.copy_part_result().unwrap().e_tag().unwrap().to_owned());
    }
    let bad = c
        .upload_part_copy()
        .bucket("data")
        .key("dst")
        .upload_id(&id)
        .part_number(3)
        .copy_source("data/src")
        .copy_source_range(format!("bytes=0-{}", source.len()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&bad), (Some("InvalidArgument".into()), Some(400)));
    c.complete_multipart_upload()
        .bucket("data")
        .key("dst")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, &etags[0]), (2, &etags[1])]))
        .send()
        .await
        .unwrap();
    assert!(
        get(&c, "data", "dst").await == source,
        "the copy is the source"
    );

    let no_upload = c
        .upload_part_copy()
        .bucket("data")
        .key("dst")
        .upload_id("no-such-upload")
        .part_number(1)
        .copy_source("data/src")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&no_upload),
        (Some("NoSuchUpload".into()), Some(404))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_objects_v1_pages_by_marker() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    for k in ["a/1", "a/2", "b", "c/1", "d"] {
        put(&c, "data", k, b"x".to_vec()).await;
    }
    // With a delimiter, NextMarker names where the next page starts.
    let mut marker: Option<String> = None;
    let mut seen = Vec::new();
    loop {
        let page = c
            .list_objects()
            .bucket("data")
            .delimiter("/")
            .max_keys(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        seen.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        seen.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        assert!(
            page.contents().iter().all(|o| o.owner().is_some()),
            "v1 names each object's owner"
        );
        if !page.is_truncated().unwrap() {
            assert!(page.next_marker().is_none());
            break;
        }
        marker = Some(
            page.next_marker()
                .expect("NextMarker with a delimiter")
                .to_owned(),
        );
    }
    seen.sort();
    assert_eq!(seen, ["a/", "b", "c/", "d"]);
    // Without one there is no NextMarker: the last key is the marker.
    let first = c
        .list_objects()
        .bucket("data")
        .max_keys(3)
        .send()
        .await
        .unwrap();
    assert!(first.is_truncated().unwrap() && first.next_marker().is_none());
    let last = first.contents().last().unwrap().key().unwrap().to_owned();
    let rest = c
        .list_objects()
        .bucket("data")
        .marker(&last)
        .send()
        .await
        .unwrap();
    let rest: Vec<_> = rest.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(rest, ["c/1", "d"]);
    let missing = c
        .list_objects()
        .bucket("nope-bucket")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing), (Some("NoSuchBucket".into()), Some(404)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_object_versions_of_an_unversioned_bucket_names_null_versions() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    for k in ["k1", "k2", "k3"] {
        put(&c, "data", k, b"x".to_vec()).await;
    }
    let page = c
        .list_object_versions()
        .bucket("data")
        .max_keys(2)
        .send()
        .await
        .unwrap();
    let versions: Vec<_> = page
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap(),
                v.version_id().unwrap(),
                v.is_latest().unwrap(),
            )
        })
        .collect();
    assert_eq!(versions, [("k1", "null", true), ("k2", "null", true)]);
    assert!(page.is_truncated().unwrap() && page.delete_markers().is_empty());
    assert_eq!(page.next_key_marker(), Some("k2"));
    assert_eq!(page.next_version_id_marker(), Some("null"));
    let next = c
        .list_object_versions()
        .bucket("data")
        .key_marker("k2")
        .version_id_marker("null")
        .send()
        .await
        .unwrap();
    let rest: Vec<_> = next.versions().iter().filter_map(|v| v.key()).collect();
    assert_eq!(rest, ["k3"]);
    assert!(!next.is_truncated().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_one_key_at_a_time_misses_nothing() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    // A folder marker ("a/") beside the keys under it, and prefixes to roll up.
    for k in ["a/", "a/1", "a/2", "a/x/1", "a/y/1", "b"] {
        put(&c, "data", k, b"x".to_vec()).await;
    }
    let want = ["a/", "a/1", "a/2", "a/x/", "a/y/"];
    let mut v2 = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let p = c
            .list_objects_v2()
            .bucket("data")
            .prefix("a/")
            .delimiter("/")
            .max_keys(1)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        v2.extend(
            p.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        v2.extend(
            p.common_prefixes()
                .iter()
                .filter_map(|o| o.prefix().map(str::to_owned)),
        );
        match p.next_continuation_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    assert_eq!(v2, want, "ListObjectsV2");
    let mut v1 = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let p = c
            .list_objects()
            .bucket("data")
            .prefix("a/")
            .delimiter("/")
            .max_keys(1)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        v1.extend(
            p.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        v1.extend(
            p.common_prefixes()
                .iter()
                .filter_map(|o| o.prefix().map(str::to_owned)),
        );
        if !p.is_truncated().unwrap() {
            break;
        }
        marker = p.next_marker().map(str::to_owned);
    }
    assert_eq!(v1, want, "ListObjects v1");
    let mut versions = Vec::new();
    let mut key_marker: Option<String> = None;
    loop {
        let p = c
            .list_object_versions()
            .bucket("data")
            .prefix("a/")
            .delimiter("/")
            .max_keys(1)
            .set_key_marker(key_marker.clone())
            .send()
            .await
            .unwrap();
        versions.extend(
            p.versions()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        versions.extend(
            p.common_prefixes()
                .iter()
                .filter_map(|o| o.prefix().map(str::to_owned)),
        );
        if !p.is_truncated().unwrap() {
            break;
        }
        key_marker = p.next_key_marker().map(str::to_owned);
    }
    assert_eq!(versions, want, "ListObjectVersions");
    let lone = c
        .list_object_versions()
        .bucket("data")
        .version_id_marker("null")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&lone), (Some("InvalidArgument".into()), Some(400)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_headers_are_stored_copied_and_overridden() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let expires = DateTime::from_secs(1_900_000_000);
    c.put_object()
        .bucket("data")
        .key("page.html.gz")
        .body(ByteStream::from_static(b"zz"))
        .content_type("text/html")
        .cache_control("max-age=60")
        .content_disposition("attachment; filename=\"page.html\"")
        .content_encoding("gzip")
        .content_language("en-GB")
        .expires(expires)
        .send()
        .await
        .unwrap();
    let head = c
        .head_object()
        .bucket("data")
        .key("page.html.gz")
        .send()
        .await
        .unwrap();
    assert_eq!(head.cache_control(), Some("max-age=60"));
    assert_eq!(
        head.content_disposition(),
        Some("attachment; filename=\"page.html\"")
    );
    assert_eq!(head.content_encoding(), Some("gzip"));
    assert_eq!(head.content_language(), Some("en-GB"));
    assert_eq!(head.expires_string(), Some("Sun, 17 Mar 2030 17:46:40 GMT"));

    // A copy keeps them; a copy that replaces the metadata replaces them too.
    c.copy_object()
        .bucket("data")
        .key("kept")
        .copy_source("data/page.html.gz")
        .send()
        .await
        .unwrap();
    let kept = c
        .head_object()
        .bucket("data")
        .key("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.cache_control(), Some("max-age=60"));
    c.copy_object()
        .bucket("data")
        .key("replaced")
        .copy_source("data/page.html.gz")
        .metadata_directive(MetadataDirective::Replace)
        .cache_control("no-store")
        .send()
        .await
        .unwrap();
    let replaced = c
        .head_object()
        .bucket("data")
        .key("replaced")
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.cache_control(), Some("no-store"));
    assert_eq!(replaced.content_encoding(), None);

    // A multipart upload keeps what CreateMultipartUpload gave.
    let id = c
        .create_multipart_upload()
        .bucket("data")
        .key("mp")
        .content_disposition("inline")
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_owned();
    let part = c
        .upload_part()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from_static(b"part"))
        .send()
        .await
        .unwrap();
    c.complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, part.e_tag().unwrap())]))
        .send()
        .await
        .unwrap();
    let mp = c
        .head_object()
        .bucket("data")
        .key("mp")
        .send()
        .await
        .unwrap();
    assert_eq!(mp.content_disposition(), Some("inline"));

    // A GET's response-* parameters replace a header for that answer only.
    let got = c
        .get_object()
        .bucket("data")
        .key("page.html.gz")
        .response_content_disposition("attachment; filename=\"other.html\"")
        .response_content_type("application/octet-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.content_disposition(),
        Some("attachment; filename=\"other.html\"")
    );
    assert_eq!(got.content_type(), Some("application/octet-stream"));
    assert_eq!(got.cache_control(), Some("max-age=60"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_names_its_request() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let ok = c.list_buckets().send().await.unwrap();
    let ok_id = ok
        .request_id()
        .expect("x-amz-request-id on a success")
        .to_owned();
    let err = c
        .get_object()
        .bucket("data")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    let err_id = err
        .request_id()
        .expect("x-amz-request-id on an error")
        .to_owned();
    assert_ne!(ok_id, err_id, "each request has its own id");

    // The error's XML names the same id.
    let (uri, headers) = presign_get(&c, "data", "missing", None).await;
    let mut conn = RawConn::connect(server.addr()).await;
    let r = conn.get(&uri, &headers, None).await;
    assert_eq!(r.status, 404);
    let id = r.headers["x-amz-request-id"].to_str().unwrap().to_owned();
    let xml = String::from_utf8_lossy(&r.body);
    assert!(xml.contains("<Code>NoSuchKey</Code>"), "{xml}");
    assert!(
        xml.contains(&format!("<RequestId>{id}</RequestId>")),
        "{xml}"
    );
    assert!(r.headers.contains_key("x-amz-id-2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_modified_names_the_etag() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let etag = put(&c, "data", "k", b"hello".to_vec()).await;
    let (uri, mut headers) = presign_get(&c, "data", "k", None).await;
    headers.push(("if-none-match".into(), etag.clone()));
    let mut conn = RawConn::connect(server.addr()).await;
    let r = conn.get(&uri, &headers, None).await;
    assert_eq!(r.status, 304);
    assert_eq!(r.headers["etag"].to_str().unwrap(), etag);
    assert!(r.headers.contains_key("last-modified"));
    assert!(r.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_small_print() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    for b in ["list-a", "list-b", "list-c"] {
        c.create_bucket().bucket(b).send().await.unwrap();
    }
    put(&c, "list-a", "k", b"x".to_vec()).await;

    // MaxKeys=0: an empty page that is not truncated.
    let zero = c
        .list_objects_v2()
        .bucket("list-a")
        .max_keys(0)
        .send()
        .await
        .unwrap();
    assert!(zero.contents().is_empty());
    assert_eq!(zero.is_truncated(), Some(false));

    // An empty delimiter is none, and is not echoed.
    let empty = c
        .list_objects_v2()
        .bucket("list-a")
        .delimiter("")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.delimiter(), None);
    assert_eq!(empty.contents().len(), 1);

    // FetchOwner: the owner is named only when asked for.
    let plain = c.list_objects_v2().bucket("list-a").send().await.unwrap();
    assert!(plain.contents()[0].owner().is_none());
    let owned = c
        .list_objects_v2()
        .bucket("list-a")
        .fetch_owner(true)
        .send()
        .await
        .unwrap();
    assert!(owned.contents()[0].owner().and_then(|o| o.id()).is_some());

    // MaxBuckets pages the buckets.
    let first = c.list_buckets().max_buckets(2).send().await.unwrap();
    let names: Vec<_> = first.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["list-a", "list-b"]);
    let token = first.continuation_token().expect("a next page").to_owned();
    let second = c
        .list_buckets()
        .max_buckets(2)
        .continuation_token(token)
        .send()
        .await
        .unwrap();
    let names: Vec<_> = second.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["list-c"]);
    assert!(second.continuation_token().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_as_s3_answers_them() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let id = new_upload(&c, "data", "mp").await;
    let upload = |n: i32, body: Vec<u8>| {
        c.upload_part()
            .bucket("data")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(body))
            .send()
    };
    let first = upload(1, bytes(5 * MIB, 1)).await.unwrap();
    // Part 1 sent again (a retry): the second upload is part 1 now.
    let again = upload(1, bytes(5 * MIB, 2)).await.unwrap();
    let last = upload(2, b"tail".to_vec()).await.unwrap();
    let (e1, e1b, e2) = (
        first.e_tag().unwrap(),
        again.e_tag().unwrap(),
        last.e_tag().unwrap(),
    );
    let reversed = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(2, e2), (1, e1b)]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        code_of(&reversed),
        (Some("InvalidPartOrder".into()), Some(400))
    );
    // Part 1 listed twice, as a client that kept both answers lists it: the last counts.
    let done = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, e1), (1, e1b), (2, e2)]))
        .send()
        .await
        .unwrap();
    let mut want = bytes(5 * MIB, 2);
    want.extend_from_slice(b"tail");
    assert!(
        get(&c, "data", "mp").await == want,
        "part 1 once, its last upload"
    );
    // The same completion again (its answer was lost): 200 and the same object.
    let repeat = c
        .complete_multipart_upload()
        .bucket("data")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(completed(&[(1, e1b), (2, e2)]))
        .send()
        .await
        .unwrap();
    assert_eq!(repeat.e_tag(), done.e_tag());
    // partNumber past the object's parts is 400 InvalidPart; outside 1..=10000, invalid.
    let past = c
        .get_object()
        .bucket("data")
        .key("mp")
        .part_number(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&past), (Some("InvalidPart".into()), Some(400)));
    let head_past = c
        .head_object()
        .bucket("data")
        .key("mp")
        .part_number(3)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&head_past).1, Some(400));
    put(&c, "data", "empty", Vec::new()).await;
    let empty = c
        .get_object()
        .bucket("data")
        .key("empty")
        .part_number(1)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.content_length(), Some(0));
    assert_eq!(empty.content_range(), None);
    let zero = c
        .get_object()
        .bucket("data")
        .key("mp")
        .part_number(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&zero), (Some("InvalidArgument".into()), Some(400)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_digests_and_expired_links_are_refused() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let short = c
        .put_object()
        .bucket("data")
        .key("k")
        .content_md5("AAAA")
        .body(ByteStream::from_static(b"hello"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&short), (Some("InvalidDigest".into()), Some(400)));
    let empty = c
        .put_object()
        .bucket("data")
        .key("k")
        .body(ByteStream::from_static(b"hello"))
        .customize()
        .mutate_request(|r| {
            r.headers_mut().insert("content-md5", "");
        })
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&empty), (Some("InvalidDigest".into()), Some(400)));
    assert!(keys(&c, "data").await.is_empty(), "nothing was stored");

    // A link whose time is up: signed two hours ago, valid for one.
    let expired = c
        .put_object()
        .bucket("data")
        .key("k")
        .presigned(
            PresigningConfig::builder()
                .start_time(SystemTime::now() - Duration::from_secs(7200))
                .expires_in(Duration::from_secs(3600))
                .build()
                .unwrap(),
        )
        .await
        .unwrap();
    let r = put_chunked(server.addr(), expired.uri(), vec![b"late".to_vec()]).await;
    assert_eq!(r.status, 403);
    assert!(String::from_utf8_lossy(&r.body).contains("<Code>AccessDenied</Code>"));
    assert!(keys(&c, "data").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_upload_without_a_length_is_stored() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let link = c
        .put_object()
        .bucket("data")
        .key("streamed")
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
        .await
        .unwrap();
    let chunks = vec![bytes(100_000, 1), bytes(3, 2), bytes(2 * MIB, 3)];
    let want: Vec<u8> = chunks.concat();
    let r = put_chunked(server.addr(), link.uri(), chunks).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(get(&c, "data", "streamed").await == want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_served_is_a_501_naming_the_operation() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    let e = c
        .get_bucket_tagging()
        .bucket("data")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&e), (Some("NotImplemented".into()), Some(501)));
    assert!(e.message().unwrap().contains("GetBucketTagging"), "{e:?}");
    let e = c.get_bucket_acl().bucket("data").send().await.unwrap_err();
    assert_eq!(code_of(&e).1, Some(501));
    assert!(e.message().unwrap().contains("GetBucketAcl"));
}

/// Sends `head` and then `body` on `s`, and reads until the final answer's head has
/// come: everything the server sent for this request, as text.
async fn exchange(s: &mut tokio::net::TcpStream, head: String, body: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut got = Vec::new();
    let mut byte = [0u8; 1];
    // One byte at a time: nothing of a later answer is read with this one.
    loop {
        let n = s.read(&mut byte).await.unwrap();
        assert!(n > 0, "the server closed before answering: {got:?}");
        got.push(byte[0]);
        let text = String::from_utf8_lossy(&got);
        if text.contains("HTTP/1.1 200") && text.ends_with("\r\n\r\n") {
            return text.into_owned();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_expectation_of_100_continue_is_answered() {
    let server = start(NetworkProfile::unlimited()).await;
    let c = client(&server);
    c.create_bucket().bucket("data").send().await.unwrap();
    // On one kept-alive connection, as botocore reuses it: an empty body, then a full one.
    let mut conn = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    for (key, body) in [
        ("empty", &b""[..]),
        ("full", &b"hello"[..]),
        ("empty2", &b""[..]),
    ] {
        let link = c
            .put_object()
            .bucket("data")
            .key(key)
            .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).unwrap())
            .await
            .unwrap();
        let uri: http::Uri = link.uri().parse().unwrap();
        let head = format!(
            "PUT {} HTTP/1.1\r\nHost: {}\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n",
            uri.path_and_query().unwrap(),
            uri.authority().unwrap(),
            body.len()
        );
        let text = exchange(&mut conn, head, body).await;
        // One 100 Continue, then the answer, even with no body to wait for (botocore
        // misreads the connection's next answer otherwise).
        assert!(
            text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"),
            "{key}: {text}"
        );
        assert_eq!(text.matches("100 Continue").count(), 1, "{key}: {text}");
        assert_eq!(get(&c, "data", key).await, body);
    }
}
