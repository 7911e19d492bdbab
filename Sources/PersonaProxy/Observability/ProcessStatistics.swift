import Foundation

/// The process's own vital signs from /proc (Linux), read at scrape time.
public enum ProcessStatistics {
    /// Seconds since the Unix epoch when this process started (the first call).
    public static let startTime: Double = Date().timeIntervalSince1970

    /// Resident set size in bytes, or nil where /proc is unavailable.
    public static func residentMemoryBytes() -> Int? {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// Open file descriptors (sockets, database files, …).
    public static func openFileDescriptors() -> Int? {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map(\.count)
    }

    /// The database file and its WAL, in bytes.
    public static func databaseBytes(path: String) -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            total + ((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? 0)
        }
    }
}
