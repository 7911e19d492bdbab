/// The version reported in `User-Agent`, `--version` and the README.
public enum PersonaProxyVersion {
    public static let string = "0.1.0"
}
