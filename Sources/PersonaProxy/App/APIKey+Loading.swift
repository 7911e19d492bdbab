import Foundation

extension APIKey {
    /// Reads the key, in order, from `$CREDENTIALS_DIRECTORY/persona-api-key` (systemd
    /// `LoadCredential=`), the file named by `upstream.api_key_file`, or `PERSONA_API_KEY`.
    /// Never from the YAML file: a key there ends up in backups and version control.
    public static func load(apiKeyFile: String?, environment: [String: String]) throws(ConfigurationError) -> APIKey {
        var looked: [String] = []
        if let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            let path = directory + "/persona-api-key"
            looked.append("$CREDENTIALS_DIRECTORY/persona-api-key (\(path))")
            if let key = try readKeyFile(path, key: "CREDENTIALS_DIRECTORY", mustExist: false) {
                return APIKey(key, source: "credential persona-api-key")
            }
        } else {
            looked.append("$CREDENTIALS_DIRECTORY/persona-api-key (CREDENTIALS_DIRECTORY is not set)")
        }
        if let apiKeyFile, !apiKeyFile.isEmpty {
            looked.append("upstream.api_key_file (\(apiKeyFile))")
            if let key = try readKeyFile(apiKeyFile, key: "upstream.api_key_file", mustExist: true) {
                return APIKey(key, source: "file \(apiKeyFile)")
            }
        } else {
            looked.append("upstream.api_key_file (not set)")
        }
        looked.append("the PERSONA_API_KEY environment variable")
        if let key = environment["PERSONA_API_KEY"]?.trimmingCharacters(in: .whitespacesAndNewlines), !key.isEmpty {
            try validate(key, key: "PERSONA_API_KEY")
            return APIKey(key, source: "environment PERSONA_API_KEY")
        }
        throw ConfigurationError(key: "upstream.api_key_file", message: "no Persona API key found; looked in " + looked.joined(separator: ", "))
    }

    private static func readKeyFile(_ path: String, key: String, mustExist: Bool) throws(ConfigurationError) -> String? {
        guard FileManager.default.fileExists(atPath: path) else {
            if mustExist { throw ConfigurationError(key: key, message: "the file \(path) does not exist") }
            return nil
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: key, message: "the file \(path) cannot be read")
        }
        let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw ConfigurationError(key: key, message: "the file \(path) is empty") }
        try validate(value, key: key)
        return value
    }

    /// A key with spaces or control characters would be a corrupt header; say so without echoing it.
    private static func validate(_ value: String, key: String) throws(ConfigurationError) {
        guard value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw ConfigurationError(key: key, message: "the API key contains spaces or non-printable characters")
        }
    }
}
