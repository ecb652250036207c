//! Keeping the console's memory near its idle size. A page over a large journal, or a login
//! (argon2id hashes in 19 MiB), allocates a lot for a moment; glibc's allocator would keep
//! most of it (one arena per thread, and a threshold for returning large blocks that grows
//! with each one freed), so a console that served one report would sit at several times its
//! idle size. Two settings at start and a trim after each piece of work give it back. The
//! province's console, whose pages fold hundreds of communes, does the same.

/// Fewer arenas, and large blocks always mapped (and so returned when freed).
pub(crate) fn keep_small() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: plain allocator settings, made before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

/// Returns the allocator's free memory to the system.
pub(crate) fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
