package io.pgferry.agent.config;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Turns merged raw settings into an {@link AgentConfig}, recording every problem instead of throwing. */
final class ConfigValidator {
    private static final Set<PosixFilePermission> GROUP_OR_OTHER = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_EXECUTE,
            PosixFilePermission.OTHERS_READ, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final int MIN_TOKEN_LENGTH = 16;
    /** The archive key protects every target that trusts it: longer than a token. */
    private static final int MIN_ARCHIVE_KEY_LENGTH = 32;
    private static final String MAKE_ONE = "openssl rand -hex 32";

    private final Map<String, Setting> settings;
    private final List<String> errors;

    ConfigValidator(Map<String, Setting> settings, List<String> errors) {
        this.settings = settings;
        this.errors = errors;
    }

    AgentConfig validate() throws ConfigException {
        String listenAddress = listenAddress();
        int listenPort = port(ConfigKeys.LISTEN_PORT, 7070);
        Optional<Path> tokenFile = requiredPath(ConfigKeys.TOKEN_FILE,
                "a file holding the API token, chmod 600");
        Optional<Secret> token = tokenFile.flatMap(p -> secretFile(ConfigKeys.TOKEN_FILE, p))
                .filter(t -> strong(ConfigKeys.TOKEN_FILE, tokenFile.get(), t, MIN_TOKEN_LENGTH));
        Optional<Path> archiveKeyFile = optionalPath(ConfigKeys.ARCHIVE_KEY_FILE);
        Optional<Secret> archiveKey = archiveKeyFile.flatMap(p -> secretFile(ConfigKeys.ARCHIVE_KEY_FILE, p))
                .filter(k -> strong(ConfigKeys.ARCHIVE_KEY_FILE, archiveKeyFile.get(), k, MIN_ARCHIVE_KEY_LENGTH));
        if (token.isPresent() && archiveKey.isPresent() && token.get().reveal().equals(archiveKey.get().reveal())) {
            errors.add(ConfigKeys.ARCHIVE_KEY_FILE + ": " + archiveKeyFile.get() + " holds the API token; whoever"
                    + " holds the token could then sign schema archives. Write a separate key into it: " + MAKE_ONE);
        }
        PostgresConfig postgres = postgres();
        Optional<Path> pgBinDir = optionalPath(ConfigKeys.PG_BIN_DIR).filter(this::validBinDir);
        Optional<Path> stateDir = requiredPath(ConfigKeys.STATE_DIR, "a directory the agent may write to")
                .filter(this::validStateDir);
        LogFormat logFormat = logFormat();
        Optional<TlsConfig> tls = tls();
        boolean allowPlainHttp = bool(ConfigKeys.ALLOW_PLAIN_HTTP, false);
        requireTlsBeyondLoopback(listenAddress, tls.isPresent(), allowPlainHttp);
        if (!errors.isEmpty()) {
            throw new ConfigException(errors);
        }
        return new AgentConfig(listenAddress, listenPort, tokenFile.orElseThrow(), token.orElseThrow(), postgres,
                pgBinDir, stateDir.orElseThrow(), logFormat, tls, archiveKeyFile, archiveKey, allowPlainHttp);
    }

    /** A guessable secret is refused like a missing one: the agent must not start with it. */
    private boolean strong(String key, Path file, Secret secret, int minLength) {
        Optional<String> weakness = SecretStrength.weakness(secret.reveal(), minLength);
        weakness.ifPresent(w -> errors.add(key + ": " + file + " " + from(settings.get(key)) + " holds " + w
                + "; write a random value into it, e.g. " + MAKE_ONE + " > " + file + " (chmod 600)"));
        return weakness.isEmpty();
    }

    /**
     * The token travels in every request: on any address but loopback it needs TLS, unless the operator states
     * that the network is trusted (a private container network, say). Refused here rather than only by the role,
     * so an agent started by hand cannot expose it either.
     */
    private void requireTlsBeyondLoopback(String listenAddress, boolean tls, boolean allowPlainHttp) {
        if (tls || allowPlainHttp) {
            return;
        }
        try {
            if (InetAddress.getByName(listenAddress).isLoopbackAddress()) {
                return;
            }
        } catch (UnknownHostException e) {
            return; // reported by listenAddress()
        }
        errors.add(ConfigKeys.LISTEN_ADDRESS + ": " + listenAddress + " " + from(settings.get(
                ConfigKeys.LISTEN_ADDRESS)) + " is not a loopback address and TLS is off, so the token would cross the"
                + " network in clear text; set " + ConfigKeys.TLS_CERT_FILE + " and " + ConfigKeys.TLS_KEY_FILE
                + ", or listen on 127.0.0.1, or (only on a network you trust) set " + ConfigKeys.ALLOW_PLAIN_HTTP
                + ": true");
    }

    private boolean bool(String key, boolean fallback) {
        Setting s = settings.get(key);
        if (s == null) {
            return fallback;
        }
        return switch (s.value().trim().toLowerCase(Locale.ROOT)) {
            case "true", "yes", "on" -> true;
            case "false", "no", "off" -> false;
            default -> {
                errors.add(key + ": \"" + s.value() + "\" " + from(s) + " is not a boolean; set true or false");
                yield fallback;
            }
        };
    }

    private String listenAddress() {
        String value = string(ConfigKeys.LISTEN_ADDRESS, "127.0.0.1");
        Setting s = settings.get(ConfigKeys.LISTEN_ADDRESS);
        if (s != null) {
            try {
                InetAddress.getByName(value);
            } catch (UnknownHostException e) {
                errors.add(ConfigKeys.LISTEN_ADDRESS + ": \"" + value + "\" " + from(s)
                        + " is not an address of this host; set an IP address such as 127.0.0.1");
            }
        }
        return value;
    }

    private PostgresConfig postgres() {
        String host = string(ConfigKeys.PG_HOST, "127.0.0.1");
        int port = port(ConfigKeys.PG_PORT, 5432);
        String user = string(ConfigKeys.PG_USER, "postgres");
        String database = string(ConfigKeys.PG_DATABASE, "postgres");
        if (host.startsWith("/") && !Files.isDirectory(Path.of(host))) {
            errors.add(ConfigKeys.PG_HOST + ": " + host + " " + from(settings.get(ConfigKeys.PG_HOST))
                    + " starts with / so it names a unix socket directory, but no such directory exists;"
                    + " set the server's unix_socket_directories entry or an address such as 127.0.0.1");
        }
        Setting password = settings.get(ConfigKeys.PG_PASSWORD);
        Setting passwordFile = settings.get(ConfigKeys.PG_PASSWORD_FILE);
        if (password != null && passwordFile != null && !passwordFile.origin().startsWith("config file")) {
            errors.add(ConfigKeys.PG_PASSWORD_FILE + ": set " + from(passwordFile) + " together with env "
                    + ConfigKeys.envName(ConfigKeys.PG_PASSWORD) + "; unset one of them");
        }
        Optional<Path> pwFile = Optional.empty();
        Optional<Secret> secret;
        if (password != null) {
            secret = Optional.of(Secret.of(password.value()));
        } else {
            pwFile = optionalPath(ConfigKeys.PG_PASSWORD_FILE);
            secret = pwFile.flatMap(p -> secretFile(ConfigKeys.PG_PASSWORD_FILE, p));
        }
        return new PostgresConfig(host, port, user, secret, pwFile, database);
    }

    /** Both files or neither; the key is a secret (0600, like the token); the pair must load and match. */
    private Optional<TlsConfig> tls() {
        Setting certSetting = settings.get(ConfigKeys.TLS_CERT_FILE);
        Setting keySetting = settings.get(ConfigKeys.TLS_KEY_FILE);
        if (certSetting == null && keySetting == null) {
            return Optional.empty();
        }
        if (certSetting == null || keySetting == null) {
            String missing = certSetting == null ? ConfigKeys.TLS_CERT_FILE : ConfigKeys.TLS_KEY_FILE;
            Setting given = certSetting == null ? keySetting : certSetting;
            errors.add(missing + ": not set, but " + given.key() + " is " + from(given) + "; set both "
                    + ConfigKeys.TLS_CERT_FILE + " and " + ConfigKeys.TLS_KEY_FILE + " (PEM files) for HTTPS, or"
                    + " neither for plain HTTP");
            return Optional.empty();
        }
        Optional<Path> cert = optionalPath(ConfigKeys.TLS_CERT_FILE);
        Optional<Path> key = optionalPath(ConfigKeys.TLS_KEY_FILE);
        if (cert.isEmpty() || key.isEmpty()) {
            return Optional.empty();
        }
        boolean ok = true;
        if (!Files.isRegularFile(cert.get()) || !Files.isReadable(cert.get())) {
            errors.add(ConfigKeys.TLS_CERT_FILE + ": " + cert.get() + " " + from(certSetting) + " is not a readable"
                    + " file; point it at the agent's PEM certificate chain");
            ok = false;
        }
        // The key is checked like the token: it must exist, be a file and be closed to group and others.
        if (secretFile(ConfigKeys.TLS_KEY_FILE, key.get()).isEmpty()) {
            ok = false;
        }
        if (!ok) {
            return Optional.empty();
        }
        try {
            return Optional.of(new TlsConfig(cert.get(), key.get(), PemKeyStore.load(cert.get(), key.get())));
        } catch (IllegalArgumentException e) {
            errors.add(ConfigKeys.TLS_CERT_FILE + "/" + ConfigKeys.TLS_KEY_FILE + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    private LogFormat logFormat() {
        Setting s = settings.get(ConfigKeys.LOG_FORMAT);
        if (s == null) {
            return LogFormat.TEXT;
        }
        try {
            return LogFormat.valueOf(s.value().trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errors.add(ConfigKeys.LOG_FORMAT + ": \"" + s.value() + "\" " + from(s)
                    + " is not a log format; set text or json");
            return LogFormat.TEXT;
        }
    }

    private boolean validBinDir(Path dir) {
        Setting s = settings.get(ConfigKeys.PG_BIN_DIR);
        if (!Files.isDirectory(dir)) {
            errors.add(ConfigKeys.PG_BIN_DIR + ": " + dir + " " + from(s) + " is not a directory; set the directory"
                    + " holding pg_dump (e.g. /usr/lib/postgresql/16/bin) or leave it unset to detect it");
            return false;
        }
        if (!Files.isExecutable(dir.resolve("pg_dump"))) {
            errors.add(ConfigKeys.PG_BIN_DIR + ": " + dir + " " + from(s) + " holds no executable pg_dump; set the"
                    + " bin directory of a PostgreSQL client install or leave it unset to detect it");
            return false;
        }
        return true;
    }

    private boolean validStateDir(Path dir) {
        Setting s = settings.get(ConfigKeys.STATE_DIR);
        if (Files.exists(dir)) {
            if (!Files.isDirectory(dir)) {
                errors.add(ConfigKeys.STATE_DIR + ": " + dir + " " + from(s) + " exists but is not a directory;"
                        + " set a directory path");
                return false;
            }
            if (!Files.isWritable(dir)) {
                errors.add(ConfigKeys.STATE_DIR + ": " + dir + " " + from(s) + " is not writable by this user;"
                        + " chown it to the agent's user or choose another directory");
                return false;
            }
            return true;
        }
        // It will be created at serve time: the nearest existing ancestor must let us do that.
        Path parent = dir.getParent();
        while (parent != null && !Files.exists(parent)) {
            parent = parent.getParent();
        }
        if (parent == null || !Files.isDirectory(parent) || !Files.isWritable(parent)) {
            errors.add(ConfigKeys.STATE_DIR + ": " + dir + " " + from(s) + " does not exist and cannot be created"
                    + " (" + parent + " is not a writable directory); create it or choose another directory");
            return false;
        }
        return true;
    }

    private Optional<Secret> secretFile(String key, Path file) {
        String where = key + ": " + file + " " + from(settings.get(key));
        if (!Files.exists(file)) {
            errors.add(where + " does not exist; create it (chmod 600) or point " + key + " at the right file");
            return Optional.empty();
        }
        if (!Files.isRegularFile(file)) {
            errors.add(where + " is not a regular file; point " + key + " at a file");
            return Optional.empty();
        }
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
            if (perms.stream().anyMatch(GROUP_OR_OTHER::contains)) {
                errors.add(where + " has mode " + PosixFilePermissions.toString(perms)
                        + ", open to group or others; run chmod 600 " + file);
                return Optional.empty();
            }
            String content = Files.readString(file, StandardCharsets.UTF_8);
            String value = content.strip();
            if (value.isEmpty()) {
                errors.add(where + " is empty; write the secret into it");
                return Optional.empty();
            }
            return Optional.of(Secret.of(value));
        } catch (IOException | UnsupportedOperationException e) {
            errors.add(where + " cannot be read (" + e.getClass().getSimpleName()
                    + "); make it readable by the agent's user only");
            return Optional.empty();
        }
    }

    private String string(String key, String fallback) {
        Setting s = settings.get(key);
        if (s == null) {
            return fallback;
        }
        if (s.value().isBlank()) {
            errors.add(key + ": empty " + from(s) + "; set a value or remove it to use the default " + fallback);
            return fallback;
        }
        return s.value().trim();
    }

    private int port(String key, int fallback) {
        Setting s = settings.get(key);
        if (s == null) {
            return fallback;
        }
        try {
            int port = Integer.parseInt(s.value().trim());
            if (port >= 1 && port <= 65535) {
                return port;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        errors.add(key + ": \"" + s.value() + "\" " + from(s) + " is not a TCP port; set an integer from 1 to 65535");
        return fallback;
    }

    private Optional<Path> requiredPath(String key, String what) {
        Optional<Path> path = optionalPath(key);
        if (path.isEmpty() && !settings.containsKey(key)) {
            errors.add(key + ": not set; set " + key + " in the config file, env " + ConfigKeys.envName(key)
                    + " or flag --" + key.replace('_', '-') + " (" + what + ")");
        }
        return path;
    }

    private Optional<Path> optionalPath(String key) {
        Setting s = settings.get(key);
        if (s == null) {
            return Optional.empty();
        }
        if (s.value().isBlank()) {
            errors.add(key + ": empty " + from(s) + "; set a path or remove the setting");
            return Optional.empty();
        }
        try {
            return Optional.of(Path.of(s.value().trim()).toAbsolutePath().normalize());
        } catch (InvalidPathException e) {
            errors.add(key + ": \"" + s.value() + "\" " + from(s) + " is not a valid path; set a file system path");
            return Optional.empty();
        }
    }

    private static String from(Setting s) {
        return s == null ? "" : "(from " + s.origin() + ")";
    }
}
