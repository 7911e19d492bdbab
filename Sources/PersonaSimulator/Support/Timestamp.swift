/// A UTC wall-clock time with millisecond precision, rendered the two ways Persona does.
///
/// Formatting is done by hand (days-from-civil arithmetic) so bodies are byte-identical on every
/// platform and need no locale-dependent formatter.
public struct Timestamp: Sendable, Hashable, Comparable {
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0) {
        let days = Self.daysFromCivil(year: year, month: month, day: day)
        let seconds = ((Int64(days) * 24 + Int64(hour)) * 60 + Int64(minute)) * 60 + Int64(second)
        self.millisecondsSince1970 = seconds * 1000
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    public func adding(milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSince1970: millisecondsSince1970 + milliseconds)
    }

    /// `2018-06-01T00:00:00.000Z`, the form of connection timestamps.
    public var iso8601: String { render(zone: "Z") }

    /// `2023-09-20T20:20:03.485+00:00`, the form of API-log timestamps.
    public var iso8601WithOffset: String { render(zone: "+00:00") }

    private func render(zone: String) -> String {
        let dayMs: Int64 = 86_400_000
        var days = millisecondsSince1970 / dayMs
        var msOfDay = millisecondsSince1970 % dayMs
        if msOfDay < 0 {
            msOfDay += dayMs
            days -= 1
        }
        let (year, month, day) = Self.civilFromDays(Int(days))
        let ms = Int(msOfDay)
        let hour = ms / 3_600_000
        let minute = ms / 60_000 % 60
        let second = ms / 1000 % 60
        let milli = ms % 1000
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
            + ".\(pad(milli, 3))\(zone)"
    }

    private func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }

    // Howard Hinnant's algorithms, valid for the whole proleptic Gregorian calendar.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
