//! The transfer engine against the real emulator over loopback sockets.

mod common;
mod download;
mod upload;
