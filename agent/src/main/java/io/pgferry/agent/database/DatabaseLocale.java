package io.pgferry.agent.database;

import io.pgferry.agent.problem.BadRequestException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What decides how a database's text sorts and compares: its encoding, its libc locales, and from PostgreSQL 15 its
 * locale provider (libc, icu, or from 17 builtin) with that provider's locale and (16+) ICU rules. A target database
 * that differs orders every text index and ORDER BY differently from the source the application was written for.
 *
 * @param localeProvider {@code libc}, {@code icu} or {@code builtin}
 * @param locale the ICU or builtin locale; null for libc
 * @param icuRules ICU tailoring rules (16+); null when none
 */
public record DatabaseLocale(String encoding, String lcCollate, String lcCtype, String localeProvider, String locale,
                             String icuRules) {
    static final Set<String> PROVIDERS = Set.of("libc", "icu", "builtin");

    public DatabaseLocale {
        if (localeProvider != null && !PROVIDERS.contains(localeProvider)) {
            throw new BadRequestException("locale_provider", "locale_provider must be libc, icu or builtin");
        }
    }

    /** The columns PostgreSQL {@code major} keeps them in, for a query on {@code pg_database d}. */
    public static String columns(int major) {
        String provider = major < 15 ? "'c'" : "d.datlocprovider::text";
        String locale = major < 15 ? "NULL" : major < 17 ? "d.daticulocale" : "d.datlocale";
        String rules = major < 16 ? "NULL" : "d.daticurules";
        return "pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, " + provider + ", " + locale + ", "
                + rules;
    }

    /** Reads the six {@link #columns} from {@code rs}, starting at column {@code first}. */
    public static DatabaseLocale from(ResultSet rs, int first) throws SQLException {
        String localeProvider = switch (rs.getString(first + 3)) {
            case "i" -> "icu";
            case "b" -> "builtin";
            default -> "libc";
        };
        return new DatabaseLocale(rs.getString(first), rs.getString(first + 1), rs.getString(first + 2), localeProvider,
                localeProvider.equals("libc") ? null : rs.getString(first + 4), rs.getString(first + 5));
    }

    public static Optional<DatabaseLocale> read(Connection c, int major, String database) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT " + columns(major)
                + " FROM pg_catalog.pg_database d WHERE d.datname = ?")) {
            st.setString(1, database);
            try (ResultSet rs = st.executeQuery()) {
                return rs.next() ? Optional.of(from(rs, 1)) : Optional.empty();
            }
        }
    }

    /** What of this (the source's) a server of PostgreSQL {@code major} cannot create; empty when it can. */
    public List<String> unsupportedOn(int major, boolean icuBuilt) {
        List<String> out = new ArrayList<>();
        if ("icu".equals(localeProvider) && major < 15) {
            out.add("locale provider icu (PostgreSQL 15 or newer)");
        } else if ("icu".equals(localeProvider) && !icuBuilt) {
            out.add("locale provider icu (this PostgreSQL is built without ICU)");
        }
        if ("builtin".equals(localeProvider) && major < 17) {
            out.add("locale provider builtin (PostgreSQL 17 or newer)");
        }
        if (icuRules != null && major < 16) {
            out.add("ICU rules (PostgreSQL 16 or newer)");
        }
        return out;
    }

    /** How {@code existing} differs from this wanted locale, one phrase each; fields this leaves null are not compared. */
    public List<String> differences(DatabaseLocale existing) {
        List<String> out = new ArrayList<>();
        if (encoding != null && !encoding.equalsIgnoreCase(existing.encoding())) {
            out.add("encoding " + existing.encoding() + " (wanted " + encoding + ")");
        }
        if (lcCollate != null && !sameLocale(lcCollate, existing.lcCollate())) {
            out.add("lc_collate " + existing.lcCollate() + " (wanted " + lcCollate + ")");
        }
        if (lcCtype != null && !sameLocale(lcCtype, existing.lcCtype())) {
            out.add("lc_ctype " + existing.lcCtype() + " (wanted " + lcCtype + ")");
        }
        if (localeProvider != null && !localeProvider.equals(existing.localeProvider())) {
            out.add("locale provider " + existing.localeProvider() + " (wanted " + localeProvider + ")");
        } else if (localeProvider != null && locale != null && !locale.equals(existing.locale())) {
            out.add(localeProvider + " locale " + existing.locale() + " (wanted " + locale + ")");
        }
        if (localeProvider != null && !java.util.Objects.equals(icuRules, existing.icuRules())) {
            out.add("ICU rules " + existing.icuRules() + " (wanted " + icuRules + ")");
        }
        return out;
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
}
