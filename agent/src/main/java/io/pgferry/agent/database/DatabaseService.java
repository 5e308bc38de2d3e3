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
import java.util.List;
import java.util.Optional;

/** Creates the target database when it is missing; never changes the encoding or locale of one that exists. */
public final class DatabaseService {
    /** CREATE DATABASE copies the template's files: quick for template0, but give a busy disk time. */
    private static final Duration TIMEOUT = Duration.ofMinutes(5);
    private record Existing(DatabaseLocale locale, String owner) {
    }

    private final PgConnector connector;

    public DatabaseService(PgConnector connector) {
        this.connector = connector;
    }

    public StepResult<DatabaseState.Response> apply(DatabaseRequest request) {
        // CREATE DATABASE runs from the agent's own database, and outside a transaction.
        try (Connection c = connector.open(connector.config().database(), TIMEOUT, false)) {
            int major = c.getMetaData().getDatabaseMajorVersion();
            Optional<Existing> existing = read(c, major, request.database());
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
                plan.add(create(c, major, request));
            }
            if (!request.check()) {
                run(plan, c, request);
            }
            Optional<Existing> now = request.check() ? existing : read(c, major, request.database());
            DatabaseState state = now.map(e -> new DatabaseState(request.database(), true, e.owner(),
                            e.locale().encoding(), e.locale().lcCollate(), e.locale().lcCtype()))
                    .orElse(new DatabaseState(request.database(), false, request.owner(), request.encoding(),
                            request.lcCollate(), request.lcCtype()));
            return plan.result(request.check(), new DatabaseState.Response(state));
        } catch (SQLException e) {
            throw connector.translate(e);
        }
    }

    private String create(Connection c, int major, DatabaseRequest request) throws SQLException {
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
        localeProvider(sql, major, request);
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
        List<String> differences = request.localeRequest().differences(e.locale());
        if (!differences.isEmpty()) {
            throw ApiException.unprocessable("database_mismatch", "database " + request.database() + " exists with "
                    + String.join(", ", differences) + "; drop it or migrate into a database of another name",
                    differences);
        }
    }

    /**
     * From 15 a server may default to another provider than libc (initdb --locale-provider): the source's is always
     * named, libc too, so the template's does not decide.
     */
    private static void localeProvider(StringBuilder sql, int major, DatabaseRequest request) {
        String provider = request.localeProvider();
        if (provider == null) {
            return;
        }
        // ICU missing from the build is the server's own refusal (0A000) at CREATE DATABASE; the preflight says it first.
        List<String> unsupported = request.localeRequest().unsupportedOn(major, true);
        if (!unsupported.isEmpty()) {
            throw ApiException.unprocessable("locale_provider_unsupported", "the target runs PostgreSQL " + major
                    + ", which cannot create a database with " + String.join(", ", unsupported) + "; use a newer "
                    + "target, or create the database yourself with the locale you choose and rerun",
                    unsupported);
        }
        if (major < 15) {
            return;
        }
        sql.append(" LOCALE_PROVIDER ").append(provider);
        if (request.locale() != null) {
            sql.append(provider.equals("icu") ? " ICU_LOCALE " : " BUILTIN_LOCALE ")
                    .append(Sql.literal(request.locale()));
        }
        if (request.icuRules() != null) {
            sql.append(" ICU_RULES ").append(Sql.literal(request.icuRules()));
        }
    }

    private static Optional<Existing> read(Connection c, int major, String database) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT " + DatabaseLocale.columns(major)
                + ", pg_get_userbyid(d.datdba) FROM pg_catalog.pg_database d WHERE d.datname = ?")) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(new Existing(DatabaseLocale.from(rs, 1), rs.getString(7)))
                        : Optional.empty();
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
