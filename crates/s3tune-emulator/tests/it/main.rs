//! Integration tests of the emulator: real aws-sdk-s3 clients over real loopback sockets.

mod api;
mod common;
mod dataset;
mod disk;
mod fidelity;
mod network;
