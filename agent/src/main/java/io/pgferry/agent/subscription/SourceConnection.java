package io.pgferry.agent.subscription;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.sql.Sql;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How the target's subscription reaches the source: the replication role and its password.
 *
 * @param port default 5432
 * @param sslmode a libpq sslmode; left out means libpq's default ({@code prefer})
 */
public record SourceConnection(String host, Integer port, String dbname, String user, String password,
                               String sslmode) {
    private static final Set<String> SSLMODES = Set.of("disable", "allow", "prefer", "require", "verify-ca",
            "verify-full");
    /** Without it, a source that drops packets would hang CREATE SUBSCRIPTION and the apply worker for minutes. */
    static final String CONNECT_TIMEOUT_SECONDS = "10";

    public SourceConnection {
        if (host == null || host.isEmpty() || host.length() > 255 || host.indexOf('\0') >= 0) {
            throw new BadRequestException("connection.host", "connection.host must be a host name or address");
        }
        port = port == null ? 5432 : port;
        if (port < 1 || port > 65535) {
            throw new BadRequestException("connection.port", "connection.port must be 1-65535");
        }
        Names.require("connection.dbname", dbname);
        Names.require("connection.user", user);
        if (password == null || password.isEmpty() || password.length() > 1000 || password.indexOf('\0') >= 0) {
            throw new BadRequestException("connection.password", "connection.password is required: the replication "
                    + "role's password, 1-1000 characters without NUL");
        }
        if (sslmode != null && !SSLMODES.contains(sslmode)) {
            throw new BadRequestException("connection.sslmode", "connection.sslmode must be one of "
                    + String.join(", ", SSLMODES.stream().sorted().toList()));
        }
    }

    /** The conninfo keywords and values, in a fixed order. */
    Map<String, String> settings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("host", host);
        m.put("port", Integer.toString(port));
        m.put("dbname", dbname);
        m.put("user", user);
        m.put("password", password);
        if (sslmode != null) {
            m.put("sslmode", sslmode);
        }
        m.put("connect_timeout", CONNECT_TIMEOUT_SECONDS);
        return m;
    }

    /** The libpq connection string; {@code masked} puts {@link StepResult#MASK} in place of the password. */
    public String conninfo(boolean masked) {
        StringBuilder sb = new StringBuilder();
        settings().forEach((k, v) -> {
            if (!sb.isEmpty()) {
                sb.append(' ');
            }
            sb.append(k).append('=').append(masked && k.equals("password") ? StepResult.MASK : Sql.conninfoValue(v));
        });
        return sb.toString();
    }

    /** Never the password: records print every component by default. */
    @Override
    public String toString() {
        return "SourceConnection[" + conninfo(true) + "]";
    }
}
