package io.pgferry.agent.database;

import io.pgferry.agent.migration.Names;
import io.pgferry.agent.problem.BadRequestException;

/**
 * Body of {@code PUT /v1/migrations/{m}/database}. Encoding and locales are normally the source database's,
 * so text sorts and compares the same after the move; any left out is the server's default.
 *
 * @param owner default: the agent's own role
 * @param template default {@code template0}, the only template guaranteed free of local additions and the
 *                 only one that accepts any encoding and locale
 * @param localeProvider {@code libc}, {@code icu} or {@code builtin} (PostgreSQL 15+; 17+ for builtin)
 * @param locale the ICU or builtin locale
 * @param icuRules ICU tailoring rules (16+)
 */
public record DatabaseRequest(String database, String owner, String encoding, String lcCollate, String lcCtype,
                              String template, Boolean check, String localeProvider, String locale,
                              String icuRules) {
    public DatabaseRequest {
        Names.require("database", database);
        if (owner != null) {
            Names.require("owner", owner);
        }
        template = template == null ? "template0" : Names.require("template", template);
        encoding = setting("encoding", encoding);
        lcCollate = setting("lc_collate", lcCollate);
        lcCtype = setting("lc_ctype", lcCtype);
        localeProvider = setting("locale_provider", localeProvider);
        locale = setting("locale", locale);
        icuRules = setting("icu_rules", icuRules);
        if (locale != null && (localeProvider == null || localeProvider.equals("libc"))) {
            throw new BadRequestException("locale", "locale is the ICU or builtin locale: give locale_provider icu "
                    + "or builtin with it, or leave it out (libc takes lc_collate and lc_ctype)");
        }
        new DatabaseLocale(null, null, null, localeProvider, null, null); // refuses an unknown provider
        check = check != null && check;
    }

    /** The locale this database is asked to have; null fields are the server's defaults, not compared. */
    public DatabaseLocale localeRequest() {
        return new DatabaseLocale(encoding, lcCollate, lcCtype, localeProvider, locale, icuRules);
    }

    private static String setting(String field, String value) {
        if (value == null) {
            return null;
        }
        if (value.isEmpty() || value.length() > 200 || value.indexOf('\0') >= 0) {
            throw new BadRequestException(field, field + " must be non-empty text of at most 200 characters");
        }
        return value;
    }
}
