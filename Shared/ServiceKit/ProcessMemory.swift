#if canImport(Glibc)
    import Glibc
#endif

enum ProcessMemory {
    /// Hands memory freed during start-up back to the system. Start-up (migrations, TLS trust roots,
    /// route tables) frees megabytes that glibc keeps in its arenas; an idle gateway held 2 MB of
    /// them. Called once, when the server is listening.
    static func releaseFreed() {
        #if canImport(Glibc)
            // `malloc_trim` is declared in <malloc.h>, which the Glibc module does not include.
            typealias Trim = @convention(c) (Int) -> Int32
            if let trim = dlsym(nil, "malloc_trim") { _ = unsafeBitCast(trim, to: Trim.self)(0) }
        #endif
    }
}
