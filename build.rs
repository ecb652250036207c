//! Build script: links the `loaxa` binary with packed relative relocations (DT_RELR) where
//! the C library can load them (glibc 2.36 and later). A position-independent executable
//! carries one relocation per pointer in its read-only data — some 40 000 here, 0.9 MB that
//! the loader reads at every start and that then stays resident for the daemon's life;
//! packed, they take 20 KB. Older systems keep the plain form: a binary linked with DT_RELR
//! would not start there.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let target = std::env::var("TARGET").unwrap_or_default();
    let host = std::env::var("HOST").unwrap_or_default();
    // The check below asks the build machine's C library, so it only speaks for a native
    // build.
    if target != host || !target.ends_with("-linux-gnu") {
        return;
    }
    if glibc_version().is_some_and(|v| v >= (2, 36)) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// The build machine's glibc version, from `getconf GNU_LIBC_VERSION` ("glibc 2.36").
fn glibc_version() -> Option<(u32, u32)> {
    let out = std::process::Command::new("getconf")
        .arg("GNU_LIBC_VERSION")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let mut parts = text.split_whitespace().nth(1)?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}
