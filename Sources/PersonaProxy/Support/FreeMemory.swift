#if canImport(Glibc)
import Glibc
#endif

/// Gives memory glibc holds free in its arenas back to the system (`malloc_trim`), after work
/// that allocated far more than the process keeps: freed chunks otherwise stay counted in RSS.
/// Swift's Glibc module does not declare `malloc_trim`, so it is looked up once by name; where
/// it does not exist (another libc), this does nothing.
enum FreeMemory {
    private static let trim: (@convention(c) (Int) -> Int32)? = {
        #if canImport(Glibc)
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
        #else
        return nil
        #endif
    }()

    static func release() {
        _ = trim?(0)
    }
}
