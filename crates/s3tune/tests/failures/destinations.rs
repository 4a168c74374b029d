//! Where a download goes: a device, a FIFO or a symbolic link is written through and
//! never replaced; a valid name stays valid with the partial file's suffix; a key ending
//! in `/` is an object; a reader that stops early is an error; what a killed download
//! leaves is swept by the next start.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::Path;
use std::process::Stdio;

use s3tune_emulator::{NetworkProfile, Rate, synthetic};

use super::{creds, emulator, names, ok, one_line, run, signal_when, spawn};

fn get(home: &Path, ep: &str, src: &str, dest: &str) -> std::process::Output {
    run(home, &creds(), &["get", src, dest, "--endpoint-url", ep])
}

#[test]
fn devices_fifos_and_symlinks_are_written_through_never_replaced() {
    let s = emulator(&["data/obj.bin=20MiB"], NetworkProfile::unlimited());
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let h = home.path();

    ok(&get(h, &ep, "s3://data/obj.bin", "/dev/null"));
    assert!(
        std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    let full = get(h, &ep, "s3://data/obj.bin", "/dev/full");
    one_line(&full, 1, "destination /dev/full: No space left on device");
    assert!(
        std::fs::metadata("/dev/full")
            .unwrap()
            .file_type()
            .is_char_device()
    );

    // A FIFO gets the bytes in order, and stays a FIFO.
    let fifo = h.join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            std::fs::File::open(fifo)
                .unwrap()
                .read_to_end(&mut bytes)
                .unwrap();
            bytes
        })
    };
    ok(&get(h, &ep, "s3://data/obj.bin", fifo.to_str().unwrap()));
    let bytes = reader.join().unwrap();
    assert_eq!(bytes.len(), 20 << 20);
    assert_eq!(synthetic::verify("obj.bin", 0, &bytes), None);
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());

    // A symbolic link: its target gets the object, the link stays.
    let real = h.join("real.bin");
    std::fs::write(&real, b"old").unwrap();
    let link = h.join("link.bin");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    ok(&get(h, &ep, "s3://data/obj.bin", link.to_str().unwrap()));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let data = std::fs::read(&real).unwrap();
    assert_eq!(synthetic::verify("obj.bin", 0, &data), None);
    assert_eq!(data.len(), 20 << 20);

    // A link to nothing is refused, and nothing is made where it points.
    let dangling = h.join("dangling.bin");
    std::os::unix::fs::symlink(h.join("nowhere.bin"), &dangling).unwrap();
    let out = get(h, &ep, "s3://data/obj.bin", dangling.to_str().unwrap());
    one_line(&out, 1, "is a symbolic link to");
    assert!(!h.join("nowhere.bin").exists());
    assert_eq!(names(h), ["dangling.bin", "link.bin", "pipe", "real.bin"]);
}

#[test]
fn a_reader_that_stops_early_makes_the_download_fail() {
    let s = emulator(&["data/obj.bin=20MiB"], NetworkProfile::unlimited());
    let home = tempfile::tempdir().unwrap();
    let mut child = super::command(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://data/obj.bin",
            "-",
            "--endpoint-url",
            &s.endpoint(),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    // `| head -c 10`: ten bytes, then the pipe is closed.
    let mut stdout = child.stdout.take().unwrap();
    let mut ten = [0u8; 10];
    stdout.read_exact(&mut ten).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    one_line(&out, 1, "the reader of standard output closed it after");
    assert_eq!(synthetic::verify("obj.bin", 0, &ten), None);
}

#[test]
fn a_key_with_a_255_byte_last_part_and_a_key_ending_in_a_slash_download() {
    let long = "n".repeat(255);
    let spec = format!("data/d/{long}=1MiB");
    let s = emulator(
        &[spec.as_str(), "data/dir/=1000"],
        NetworkProfile::unlimited(),
    );
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    ok(&get(home.path(), &ep, &format!("s3://data/d/{long}"), d));
    assert_eq!(names(&dir), std::slice::from_ref(&long));
    let data = std::fs::read(dir.join(&long)).unwrap();
    assert_eq!(synthetic::verify(&format!("d/{long}"), 0, &data), None);

    // `dir/` is an object's key like any other: it downloads to a file…
    let file = dir.join("marker");
    ok(&get(
        home.path(),
        &ep,
        "s3://data/dir/",
        file.to_str().unwrap(),
    ));
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 1000);
    // …but gives no file name to a directory.
    let out = get(home.path(), &ep, "s3://data/dir/", d);
    one_line(&out, 1, "the key `dir/` has no usable file name");
    assert_eq!(names(&dir), ["marker".to_owned(), long]);
}

#[test]
fn a_killed_download_leaves_a_locked_partial_file_that_the_next_start_sweeps() {
    let slow = NetworkProfile {
        connection_bandwidth: Some(Rate(4e6)),
        ..NetworkProfile::unlimited()
    };
    let s = emulator(&["data/slow.bin=200MiB", "data/small.bin=1000"], slow);
    let ep = s.endpoint();
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("dl");
    std::fs::create_dir(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let child = spawn(
        home.path(),
        &creds(),
        &["get", "s3://data/slow.bin", d, "--endpoint-url", &ep],
    );
    let (out, _) = signal_when(child, "KILL", || !names(&dir).is_empty());
    assert_eq!(out.status.code(), None, "killed");
    let left = names(&dir);
    assert_eq!(left.len(), 1);
    assert!(
        left[0].starts_with(".slow.bin.") && left[0].ends_with(".s3tune.part"),
        "{left:?}"
    );
    // The next download into the folder takes it away (its lock died with its process).
    ok(&get(home.path(), &ep, "s3://data/small.bin", d));
    assert_eq!(names(&dir), ["small.bin"]);
}

#[test]
fn the_sweep_leaves_other_programs_partial_files_alone_whatever_their_names() {
    let s = emulator(&["data/obj.bin=1000"], NetworkProfile::unlimited());
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("Downloads");
    std::fs::create_dir(&dir).unwrap();
    // A browser's partial downloads, and an older s3tune's name.
    for name in [
        "ファイル名.pdf.part",
        "日本語.part",
        ".x.s3tune-0123abcd.part",
    ] {
        std::fs::write(dir.join(name), b"theirs").unwrap();
    }
    ok(&get(
        home.path(),
        &s.endpoint(),
        "s3://data/obj.bin",
        dir.to_str().unwrap(),
    ));
    assert_eq!(
        names(&dir),
        [
            ".x.s3tune-0123abcd.part",
            "obj.bin",
            "ファイル名.pdf.part",
            "日本語.part"
        ]
    );
}

#[test]
fn dev_stdout_writes_into_what_the_shell_opened_never_replacing_it() {
    let s = emulator(&["data/obj.bin=3MiB"], NetworkProfile::unlimited());
    let home = tempfile::tempdir().unwrap();
    let log = home.path().join("app.log");
    std::fs::write(&log, b"line one\n").unwrap();
    use std::os::unix::fs::MetadataExt;
    let inode = std::fs::metadata(&log).unwrap().ino();
    // `s3tune get … /dev/stdout >> app.log`.
    let out = super::command(
        home.path(),
        &creds(),
        &[
            "get",
            "s3://data/obj.bin",
            "/dev/stdout",
            "--endpoint-url",
            &s.endpoint(),
        ],
    )
    .stdout(std::fs::File::options().append(true).open(&log).unwrap())
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let data = std::fs::read(&log).unwrap();
    assert_eq!(
        std::fs::metadata(&log).unwrap().ino(),
        inode,
        "the same file"
    );
    assert_eq!(&data[..9], b"line one\n", "what it held is kept");
    assert_eq!(data.len(), 9 + (3 << 20));
    assert_eq!(synthetic::verify("obj.bin", 0, &data[9..]), None);
}
