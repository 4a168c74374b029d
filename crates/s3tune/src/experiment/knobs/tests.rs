//! The spaces of every client: parsing, checks, defaults.

use super::*;

const MIB: i64 = 1 << 20;

#[test]
fn params_parse_ranges_lists_and_fixed_values_with_units() {
    assert_eq!(
        parse_param(Client::S3tune, "multipart_chunksize=5MiB..64MiB:log").unwrap(),
        (
            "multipart_chunksize".into(),
            Domain::Int {
                low: 5 * MIB,
                high: 64 * MIB,
                scale: Scale::Log
            }
        )
    );
    assert_eq!(
        parse_param(Client::S3tune, "max_concurrency=4,8,16")
            .unwrap()
            .1,
        Domain::Ordinal(vec![Value::Int(4), Value::Int(8), Value::Int(16)])
    );
    assert_eq!(
        parse_param(Client::S3tune, "use_threads=true").unwrap().1,
        Domain::Fixed(Value::Bool(true))
    );
    for bad in [
        "max_concurrency",
        "speed=1..2",
        "max_concurrency=1..x",
        "max_concurrency=1..8:cubic",
    ] {
        assert!(parse_param(Client::S3tune, bad).is_err(), "{bad}");
    }
}

#[test]
fn spaces_outside_s3s_limits_are_refused_up_front() {
    let err = build_space(
        Client::S3tune,
        None,
        &["multipart_chunksize=1MiB..64MiB".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("multipart_chunksize"), "{err}");
    let err = build_space(
        Client::S3tune,
        None,
        &["max_concurrency=64..8".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("low bound above high"), "{err}");
}

#[test]
fn a_dataset_searches_both_levels_and_one_object_refuses_max_objects() {
    let many = default_space(Client::S3tune, Direction::Download, true);
    let names: Vec<&str> = many.params().map(|(k, _)| k).collect();
    for k in ["max_objects", "max_concurrency", "multipart_chunksize"] {
        assert!(names.contains(&k), "{k} in {names:?}");
    }
    let err = build_space(
        Client::S3tune,
        None,
        &["max_objects=1..64".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("many objects"), "{err}");
    // The AWS CLI's defaults (10 requests, 8 MiB parts) and boto3's in a pool.
    let cli =
        transfer_config(&baseline(Client::S3tune, &many, Direction::Download).unwrap()).unwrap();
    assert_eq!(
        (
            cli.objects_in_flight(),
            cli.concurrency(),
            cli.multipart_chunksize
        ),
        (10, 10, 8 << 20)
    );
    let pool =
        transfer_config(&crate::commands::tune::transfer::many::boto3_pool(&many, 6).unwrap())
            .unwrap();
    assert_eq!((pool.objects_in_flight(), pool.concurrency()), (6, 60));
}

#[test]
fn the_baseline_is_boto3s_defaults_and_maps_back_to_them() {
    let space = default_space(Client::S3tune, Direction::Download, false);
    let b = baseline(Client::S3tune, &space, Direction::Download).unwrap();
    assert_eq!(transfer_config(&b).unwrap(), TransferConfig::default());
    let narrow = build_space(
        Client::S3tune,
        None,
        &["max_concurrency=16..64".into()],
        Direction::Download,
        false,
    )
    .unwrap();
    assert!(
        baseline(Client::S3tune, &narrow, Direction::Download)
            .unwrap_err()
            .to_string()
            .contains("--no-baseline")
    );
}

#[test]
fn each_client_has_its_own_space_and_refuses_another_clients_knob() {
    let names = |c| {
        default_space(c, Direction::Download, false)
            .params()
            .map(|(k, _)| k.to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(Client::Awscli),
        ["max_concurrent_requests", "multipart_chunksize"]
    );
    assert_eq!(names(Client::Crt), ["part_size", "throughput_target_gbps"]);
    assert_eq!(
        names(Client::Rclone),
        ["multi_thread_cutoff", "multi_thread_streams"]
    );
    let err = build_space(
        Client::Awscli,
        None,
        &["max_concurrency=1..8".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "the AWS CLI has no knob `max_concurrency`; its knobs are max_concurrent_requests"
        ),
        "{err}"
    );
    let err = build_space(
        Client::Rclone,
        None,
        &["s3_chunk_size=5MiB..64MiB".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("does not change downloads"), "{err}");
    let err = build_space(
        Client::Crt,
        None,
        &["throughput_target_gbps=0.01..10".into()],
        Direction::Download,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("outside what the AWS CRT accepts"), "{err}");
}

#[test]
fn each_clients_defaults_are_a_point_of_its_space() {
    for client in Client::ALL {
        for direction in [Direction::Download, Direction::Upload] {
            let space = default_space(client, direction, false);
            baseline(client, &space, direction).unwrap();
        }
    }
    let crt = default_space(Client::Crt, Direction::Download, false);
    let d = baseline(Client::Crt, &crt, Direction::Download).unwrap();
    assert_eq!(d["throughput_target_gbps"], Value::Float(10.0));
    assert_eq!(d["part_size"], Value::Int(32 << 20));
}
