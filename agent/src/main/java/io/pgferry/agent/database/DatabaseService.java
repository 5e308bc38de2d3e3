package io.pgferry.agent.database;

import io.pgferry.agent.migration.Plan;
import io.pgferry.agent.migration.StepResult;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.sql.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Creates the target database when it is missing; never changes the encoding or locale of one that exists. */
public final class DatabaseService {
    /** CREATE DATABASE copies the template's files: quick for template0, but give a busy disk time. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private static final String DATABASE = """
            SELECT pg_encoding_to_char(encoding), datcollate, datctype, pg_get_userbyid(datdba)
            FROM pg_database WHERE datname = ?""";

    private record Existing(String encoding, String collate, String ctype, String owner) {
    }

    private final PgConnector connector;

    public DatabaseService(PgConnector connector) {
        this.connector = connector;
    }

    public StepResult<DatabaseState.Response> apply(DatabaseRequest request) {
        // CREATE DATABASE runs from the agent's own database, and outside a transaction.
        try (Connection c = connector.open(connector.config().database(), TIMEOUT, false)) {
            Optional<Existing> existing = read(c, request.database());
            Plan plan = new Plan();
            if (request.owner() != null && !exists(c, "SELECT 1 FROM pg_roles WHERE rolname = ?", request.owner())) {
                throw ApiException.unprocessable("owner_missing", "role " + request.owner() + " does not exist on "
                        + "the target; create it first (the roles step creates the roles the database needs) or leave owner out",
                        List.of(request.owner()));
            }
            if (existing.isPresent()) {
                Existing e = existing.get();
                refuseMismatch(request, e);
                if (request.owner() != null && !request.owner().equals(e.owner())) {
                    plan.add("ALTER DATABASE " + Sql.ident(request.database()) + " OWNER TO "
                            + Sql.ident(request.owner()));
                }
            } else {
                plan.add(create(c, request));
            }
            if (!request.check()) {
                run(plan, c, request);
            }
            Optional<Existing> now = request.check() ? existing : read(c, request.database());
            DatabaseState state = now.map(e -> new DatabaseState(request.database(), true, e.owner(), e.encoding(),
                            e.collate(), e.ctype()))
                    .orElse(new DatabaseState(request.database(), false, request.owner(), request.encoding(),
                            request.lcCollate(), request.lcCtype()));
            return plan.result(request.check(), new DatabaseState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private String create(Connection c, DatabaseRequest request) throws SQLException {
        if (!exists(c, "SELECT 1 FROM pg_database WHERE datname = ? AND datistemplate", request.template())) {
            throw ApiException.unprocessable("template_missing", "template " + request.template() + " does not "
                    + "exist or is not a template; use template0", List.of(request.template()));
        }
        StringBuilder sql = new StringBuilder("CREATE DATABASE " + Sql.ident(request.database()) + " TEMPLATE "
                + Sql.ident(request.template()));
        if (request.encoding() != null) {
            try (PreparedStatement st = c.prepareStatement("SELECT pg_char_to_encoding(?) >= 0")) {
                st.setString(1, request.encoding());
                try (ResultSet rs = st.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        throw ApiException.unprocessable("invalid_encoding", "PostgreSQL knows no encoding named "
                                + request.encoding() + "; use the source database's (e.g. UTF8)",
                                List.of(request.encoding()));
                    }
                }
            }
            sql.append(" ENCODING ").append(Sql.literal(request.encoding()));
        }
        if (request.lcCollate() != null) {
            sql.append(" LC_COLLATE ").append(Sql.literal(request.lcCollate()));
        }
        if (request.lcCtype() != null) {
            sql.append(" LC_CTYPE ").append(Sql.literal(request.lcCtype()));
        }
        if (request.owner() != null) {
            sql.append(" OWNER ").append(Sql.ident(request.owner()));
        }
        return sql.toString();
    }

    private void run(Plan plan, Connection c, DatabaseRequest request) throws SQLException {
        try {
            plan.runEach(c);
        } catch (SQLException e) {
            // 22023: a locale the target's operating system does not have, or one that does not fit the encoding.
            if ("22023".equals(e.getSQLState())) {
                throw ApiException.unprocessable("invalid_locale", "the target server cannot create a database with "
                        + "encoding " + request.encoding() + ", LC_COLLATE " + request.lcCollate() + " and LC_CTYPE "
                        + request.lcCtype() + "; install the locale on the target host (locale -a lists them) or "
                        + "choose one that fits the encoding", List.of());
            }
            throw e;
        }
    }

    /**
     * Encoding decides which characters can be stored; collation and ctype decide how text sorts and so what
     * indexes contain. A database that differs is not one the migration may fill.
     */
    private static void refuseMismatch(DatabaseRequest request, Existing e) {
        List<String> differences = new ArrayList<>();
        if (request.encoding() != null && !request.encoding().equalsIgnoreCase(e.encoding())) {
            differences.add("encoding " + e.encoding() + " (wanted " + request.encoding() + ")");
        }
        if (request.lcCollate() != null && !sameLocale(request.lcCollate(), e.collate())) {
            differences.add("lc_collate " + e.collate() + " (wanted " + request.lcCollate() + ")");
        }
        if (request.lcCtype() != null && !sameLocale(request.lcCtype(), e.ctype())) {
            differences.add("lc_ctype " + e.ctype() + " (wanted " + request.lcCtype() + ")");
        }
        if (!differences.isEmpty()) {
            throw ApiException.unprocessable("database_mismatch", "database " + request.database() + " exists with "
                    + String.join(", ", differences) + "; drop it or migrate into a database of another name",
                    differences);
        }
    }

    /** en_US.UTF-8 and en_US.utf8 name the same locale: the codeset part is case- and dash-insensitive. */
    static boolean sameLocale(String a, String b) {
        return normalize(a).equals(normalize(b));
    }

    private static String normalize(String locale) {
        int dot = locale.indexOf('.');
        if (dot < 0) {
            return locale;
        }
        int at = locale.indexOf('@', dot);
        String codeset = locale.substring(dot + 1, at < 0 ? locale.length() : at);
        return locale.substring(0, dot + 1) + codeset.toLowerCase(Locale.ROOT).replace("-", "")
                + (at < 0 ? "" : locale.substring(at));
    }

    private static Optional<Existing> read(Connection c, String database) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(DATABASE)) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(new Existing(rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getString(4))) : Optional.empty();
            }
        }
    }

    private static boolean exists(Connection c, String sql, String value) throws SQLException {
        try (PreparedStatement st = c.prepareStatement(sql)) {
            st.setString(1, value);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next();
            }
        }
    }
}
