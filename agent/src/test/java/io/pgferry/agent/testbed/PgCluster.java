package io.pgferry.agent.testbed;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/** A running throwaway PostgreSQL cluster made by tools/pgbed, with the details pgbed printed. */
public final class PgCluster {
    private final String name;
    private final JsonNode info;

    PgCluster(String name, JsonNode info) {
        this.name = name;
        this.info = info;
    }

    /** A new cluster that the caller destroys (test classes with {@link PgBed} get theirs made for them). */
    public static PgCluster create(String name, int major) {
        return new PgCluster(name, PgBedTool.json("start", "--name", name, "--major", String.valueOf(major)));
    }

    public String name() {
        return name;
    }

    public int major() {
        return info.get("major").asInt();
    }

    public String host() {
        return info.get("host").asText();
    }

    public int port() {
        return info.get("port").asInt();
    }

    public Path binDir() {
        return Path.of(info.get("bin_dir").asText());
    }

    public Path socketDir() {
        return Path.of(info.get("socket_dir").asText());
    }

    /** The server log (pgbed's pg_ctl -l file). */
    public Path logFile() {
        return Path.of(info.get("log_file").asText());
    }

    public String superuser() {
        return info.get("superuser").asText();
    }

    public Path superuserPasswordFile() {
        return Path.of(info.get("superuser_password_file").asText());
    }

    /** For asserting that it never shows up where it must not. */
    public String superuserPassword() {
        return info.get("superuser_password").asText();
    }

    /** Stops the server (fast shutdown) and waits until it is down. */
    public void stop() {
        PgBedTool.json("stop", "--name", name);
    }

    /** Starts the server again and waits until it accepts connections. */
    public void start() {
        PgBedTool.json("start", "--name", name);
    }

    public void destroy() {
        PgBedTool.json("destroy", "--name", name);
    }

    /** A JDBC connection as the superuser, password from its file as an operator would keep it. */
    public java.sql.Connection connect(String database) throws java.sql.SQLException, java.io.IOException {
        java.util.Properties p = new java.util.Properties();
        p.setProperty("user", superuser());
        p.setProperty("password", java.nio.file.Files.readString(superuserPasswordFile()).strip());
        return java.sql.DriverManager.getConnection("jdbc:postgresql://" + host() + ":" + port() + "/" + database, p);
    }

    @Override
    public String toString() {
        return "PgCluster[" + name + ", PostgreSQL " + major() + " on " + host() + ":" + port() + "]";
    }
}
