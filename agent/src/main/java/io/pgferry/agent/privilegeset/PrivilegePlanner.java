package io.pgferry.agent.privilegeset;

import io.pgferry.agent.privilegeset.AclEntry.Key;
import io.pgferry.agent.privilegeset.ObjectPrivileges.Address;
import io.pgferry.agent.privilegeset.PrivilegeCatalog.Found;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import io.pgferry.agent.sql.Sql;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Makes the target's owners, ACLs, default privileges, policy roles and database privileges and settings those of
 * the source, through the role map: reads what the target has (the same reader as the source's), compares, and
 * plans only what differs. The SQL names objects the way the target's own catalogs name them
 * ({@code pg_identify_object}); what the request says only selects objects (by address, compared as data), so no
 * text of a request is ever spliced into SQL but quoted role names and bound literals.
 */
public final class PrivilegePlanner {
    /** Privileges every supported version knows; later ones are compared only when both sides know them. */
    private static final Set<String> BASE = Set.of("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES",
            "TRIGGER", "EXECUTE", "USAGE", "CREATE", "CONNECT", "TEMPORARY");
    private static final Pattern SETTING_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_$]*(\\.[A-Za-z_][A-Za-z0-9_$]*)*");
    /** Settings whose value is a list of names, which ALTER .. SET takes as separate literals (as pg_dump does). */
    private static final Set<String> LIST_SETTINGS = Set.of("local_preload_libraries", "search_path",
            "session_preload_libraries", "shared_preload_libraries", "temp_tablespaces", "unix_socket_directories");
    private static final Map<String, String> OWNER_KEYWORD = Map.ofEntries(
            Map.entry("schema", "SCHEMA"), Map.entry("table", "TABLE"), Map.entry("view", "VIEW"),
            Map.entry("materialized view", "MATERIALIZED VIEW"), Map.entry("sequence", "SEQUENCE"),
            Map.entry("foreign table", "FOREIGN TABLE"), Map.entry("function", "FUNCTION"),
            Map.entry("procedure", "PROCEDURE"), Map.entry("aggregate", "AGGREGATE"), Map.entry("type", "TYPE"),
            Map.entry("domain", "DOMAIN"), Map.entry("collation", "COLLATION"), Map.entry("conversion", "CONVERSION"),
            Map.entry("operator", "OPERATOR"), Map.entry("operator class", "OPERATOR CLASS"),
            Map.entry("operator family", "OPERATOR FAMILY"),
            Map.entry("text search configuration", "TEXT SEARCH CONFIGURATION"),
            Map.entry("text search dictionary", "TEXT SEARCH DICTIONARY"), Map.entry("statistics", "STATISTICS"),
            Map.entry("large object", "LARGE OBJECT"));
    private static final Map<String, String> GRANT_KEYWORD = Map.ofEntries(
            Map.entry("schema", "SCHEMA"), Map.entry("table", "TABLE"), Map.entry("view", "TABLE"),
            Map.entry("materialized view", "TABLE"), Map.entry("foreign table", "TABLE"),
            Map.entry("column", "TABLE"), Map.entry("sequence", "SEQUENCE"), Map.entry("function", "FUNCTION"),
            Map.entry("aggregate", "FUNCTION"), Map.entry("procedure", "PROCEDURE"), Map.entry("type", "TYPE"),
            Map.entry("domain", "DOMAIN"), Map.entry("large object", "LARGE OBJECT"));
    private static final Set<String> RELATIONS = Set.of("table", "view", "materialized view", "foreign table");
    /** Order of owner changes: schemas, then tables (their sequences and row types follow), then the rest. */
    private static final List<String> OWNER_ORDER = List.of("schema", "table", "foreign table", "view",
            "materialized view", "sequence", "type", "domain");
    /** ALTER DEFAULT PRIVILEGES' names of the object kinds, and acldefault's letter for each. */
    private static final Map<String, String> DEFAULT_KIND = Map.of("r", "TABLES", "S", "SEQUENCES", "f", "FUNCTIONS",
            "T", "TYPES", "n", "SCHEMAS");
    private static final Map<String, String> DEFAULT_ACLDEFAULT = Map.of("r", "r", "S", "s", "f", "f", "T", "T",
            "n", "n");

    /**
     * What differs and the SQL that removes the differences.
     *
     * @param differences one line per difference, for people (verify reports them)
     * @param missing source objects the target lacks (not this step's to create)
     * @param notes what is left as it is on purpose (settings only the target has)
     */
    public record Result(List<String> statements, List<String> differences, List<String> missing,
                         List<String> notes) {
        public boolean equal() {
            return differences.isEmpty() && missing.isEmpty();
        }
    }

    private final Connection c;
    private final PrivilegeSet desired;
    private final RoleMap map;
    private final Set<String> known;
    private final List<String> ownerChanges = new ArrayList<>();
    /** By grantor: each runs as its grantor (GRANTED BY accepts only the current user). */
    private final Map<String, List<String>> revokes = new TreeMap<>();
    private final List<Grant> grants = new ArrayList<>();
    private final List<String> rest = new ArrayList<>();
    private final List<String> differences = new ArrayList<>();
    private final List<String> missing = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();

    private PrivilegePlanner(Connection c, PrivilegeSet desired, RoleMap map, int targetMajor) {
        this.c = c;
        this.desired = desired;
        this.map = map;
        this.known = common(desired.serverMajor(), targetMajor);
    }

    /**
     * Plans on the database {@code c} is connected to, inside whatever transaction it is in (the schema apply runs it
     * right after the pre-data, before committing either).
     *
     * @throws ApiException 422 {@code roles_missing} when roles the source's privileges name (mapped) do not exist
     */
    public static Result plan(Connection c, PrivilegeSet desired, RoleMap map) throws SQLException {
        requireRoles(c, desired, map);
        int major;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_catalog.current_setting('server_version_num')::int / 10000")) {
            rs.next();
            major = rs.getInt(1);
        }
        PrivilegePlanner p = new PrivilegePlanner(c, desired, map, major);
        p.database();
        p.objects();
        p.defaultAcls();
        p.policies();
        List<String> statements = new ArrayList<>(p.ownerChanges);
        p.revokes.forEach((grantor, sql) -> asRole(statements, grantor, sql));
        p.orderedGrants(statements);
        statements.addAll(p.rest);
        return new Result(List.copyOf(statements), List.copyOf(p.differences), List.copyOf(p.missing),
                List.copyOf(p.notes));
    }

    /**
     * Runs the statements on {@code c}, in its current transaction, as one batch: a schema of thousands of tables
     * plans a statement or more per table, and a round trip each was most of the time. The first failing statement
     * ends the batch; its own error is raised, as it would be alone.
     */
    public static void execute(Connection c, List<String> statements) throws SQLException {
        if (statements.isEmpty()) {
            return;
        }
        try (Statement st = c.createStatement()) {
            for (String sql : statements) {
                st.addBatch(sql);
            }
            st.executeBatch();
        } catch (BatchUpdateException e) {
            throw e.getNextException() != null ? e.getNextException() : e;
        }
    }

    /** @throws ApiException 422 {@code roles_missing} */
    public static void requireRoles(Connection c, PrivilegeSet desired, RoleMap map) throws SQLException {
        Set<String> wanted = new TreeSet<>();
        desired.roleNames().stream().filter(r -> !RoleMap.predefined(r)).map(map::target).forEach(wanted::add);
        Set<String> present = new HashSet<>();
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY (?::text[])")) {
            ps.setArray(1, c.createArrayOf("text", wanted.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    present.add(rs.getString(1));
                }
            }
        }
        wanted.removeAll(present);
        if (!wanted.isEmpty()) {
            throw ApiException.unprocessable("roles_missing", "the source's owners and privileges name roles the "
                    + "target does not have: " + String.join(", ", wanted) + "; run the roles step first (it "
                    + "creates them), map them to existing roles (role_map), or turn privileges off",
                    List.copyOf(wanted));
        }
    }

    /** Privileges both versions know: the others are neither granted nor revoked. */
    static Set<String> common(int a, int b) {
        Set<String> out = new HashSet<>(BASE);
        if (Math.min(a, b) >= 15) {
            out.addAll(List.of("SET", "ALTER SYSTEM"));
        }
        if (Math.min(a, b) >= 17) {
            out.add("MAINTAIN");
        }
        return out;
    }

    // ------------------------------------------------------------------ database

    private void database() throws SQLException {
        DatabasePrivileges want = desired.database();
        if (want == null) {
            return;
        }
        DatabasePrivileges have = PrivilegeCatalog.database(c);
        String name;
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT pg_catalog.current_database()")) {
            rs.next();
            name = rs.getString(1);
        }
        String id = Sql.ident(name);
        String owner = map.target(want.owner());
        List<AclEntry> current = have.acl();
        if (!owner.equals(have.owner())) {
            differences.add("owner of database " + id + " is " + have.owner() + ", not " + owner);
            ownerChanges.add(0, "ALTER DATABASE " + id + " OWNER TO " + Sql.ident(owner));
            current = newOwner(current, have.owner(), owner);
        }
        acl("database " + id, "DATABASE " + id, null, owner, mapped(want.acl()), current);
        settings(id, want.settings(), have.settings());
        if (!Objects.equals(want.comment(), have.comment())) {
            differences.add("comment of database " + id + " differs");
            rest.add("COMMENT ON DATABASE " + id + " IS " + (want.comment() == null ? "NULL"
                    : Sql.literal(want.comment())));
        }
        Map<String, String> labels = new HashMap<>();
        have.securityLabels().forEach(l -> labels.put(l.provider(), l.label()));
        for (DatabasePrivileges.SecurityLabel l : want.securityLabels()) {
            if (!l.label().equals(labels.get(l.provider()))) {
                differences.add("security label " + l.provider() + " of database " + id + " differs");
                rest.add("SECURITY LABEL FOR " + Sql.ident(l.provider()) + " ON DATABASE " + id + " IS "
                        + Sql.literal(l.label()));
            }
        }
    }

    private void settings(String database, List<DatabasePrivileges.Setting> want,
                          List<DatabasePrivileges.Setting> have) throws SQLException {
        Set<String> known = new HashSet<>();
        try (Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT name FROM pg_catalog.pg_settings")) {
            while (rs.next()) {
                known.add(rs.getString(1));
            }
        }
        Map<List<String>, String> current = new HashMap<>();
        have.forEach(s -> current.put(Arrays.asList(s.role(), s.name()), s.value()));
        Set<List<String>> wanted = new HashSet<>();
        for (DatabasePrivileges.Setting s : want) {
            if (!SETTING_NAME.matcher(s.name()).matches()) {
                throw new BadRequestException("source.database.settings",
                        "setting name " + s.name() + " is not a configuration parameter name");
            }
            String role = map.target(s.role());
            List<String> key = Arrays.asList(role, s.name());
            wanted.add(key);
            // A setting a later release removed would fail the whole transaction; an extension's (a.b) is kept.
            if (!s.name().contains(".") && !known.contains(s.name().toLowerCase(Locale.ROOT))) {
                notes.add("setting " + s.name() + (s.role() == null ? "" : " of role " + role) + " is unknown to the "
                        + "target's PostgreSQL; left out");
                continue;
            }
            if (s.value().equals(current.get(key))) {
                continue;
            }
            String who = role == null ? "database " + database : "role " + Sql.ident(role) + " in database "
                    + database;
            differences.add("setting " + s.name() + " of " + who + " is " + (current.containsKey(key)
                    ? current.get(key) : "not set") + ", not " + s.value());
            String target = role == null ? "ALTER DATABASE " + database
                    : "ALTER ROLE " + Sql.ident(role) + " IN DATABASE " + database;
            rest.add(target + " SET " + settingName(s.name()) + " TO " + settingValue(s.name(), s.value()));
        }
        for (DatabasePrivileges.Setting s : have) {
            if (!wanted.contains(Arrays.asList(s.role(), s.name()))) {
                notes.add("setting " + s.name() + (s.role() == null ? "" : " of role " + s.role())
                        + " is set on the target only; left as it is");
            }
        }
    }

    private static String settingName(String name) {
        return java.util.Arrays.stream(name.split("\\.")).map(Sql::ident).collect(Collectors.joining("."));
    }

    /** pg_db_role_setting keeps a list setting as its formatted list; each element becomes a literal again. */
    public static String settingValue(String name, String value) {
        if (!LIST_SETTINGS.contains(name.toLowerCase(Locale.ROOT))) {
            return Sql.literal(value);
        }
        List<String> elements = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            if (ch == '"') {
                if (quoted && i + 1 < value.length() && value.charAt(i + 1) == '"') {
                    cur.append('"');
                    i++;
                } else {
                    quoted = !quoted;
                }
            } else if (ch == ',' && !quoted) {
                elements.add(cur.toString().strip());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        elements.add(cur.toString().strip());
        return elements.stream().map(Sql::literal).collect(Collectors.joining(", "));
    }

    // ------------------------------------------------------------------ objects

    private void objects() throws SQLException {
        List<String> schemas = desired.objects().stream().filter(o -> o.type().equals("schema"))
                .map(o -> o.names().get(0)).toList();
        Map<Address, Found> have = new LinkedHashMap<>();
        for (Found f : PrivilegeCatalog.objects(c, schemas, List.of())) {
            have.put(f.privileges().address(), f);
        }
        Set<String> tablesInScope = new HashSet<>();
        List<ObjectPrivileges> wanted = new ArrayList<>(desired.objects());
        wanted.sort((a, b) -> Integer.compare(rank(a.type()), rank(b.type())));
        Set<Address> seen = new HashSet<>();
        Map<List<String>, Found> relations = new HashMap<>();
        for (Found f : have.values()) {
            if (RELATIONS.contains(f.privileges().type())) {
                relations.put(f.privileges().names(), f);
            }
        }
        for (ObjectPrivileges want : wanted) {
            Found f = have.get(want.address());
            if (f == null && want.type().equals("table column") && want.names().size() == 3) {
                // A column without privileges of its own has no ACL to list: it is there if its table is.
                Found table = relations.get(want.names().subList(0, 2));
                if (table != null) {
                    f = new Found(new ObjectPrivileges(want.type(), want.names(), want.args(), null, List.of()),
                            "column", table.identity(), Sql.ident(want.names().get(2)), true);
                }
            }
            seen.add(want.address());
            if (want.type().equals("table") || want.type().equals("table column")) {
                tablesInScope.add(String.join("\u0000", want.names().subList(0, 2)));
            }
            if (f == null) {
                if (!want.type().equals("large object")) {
                    missing.add(want.describe());
                }
                continue;
            }
            object(want, f);
        }
        // A column privilege the source does not have is one to take away, on the tables that moved.
        for (Found f : have.values()) {
            ObjectPrivileges p = f.privileges();
            if (p.type().equals("table column") && !seen.contains(p.address())
                    && tablesInScope.contains(String.join("\u0000", p.names().subList(0, 2)))) {
                object(new ObjectPrivileges(p.type(), p.names(), p.args(), null, List.of()), f);
            }
        }
    }

    private static int rank(String type) {
        int i = OWNER_ORDER.indexOf(type);
        return i < 0 ? OWNER_ORDER.size() : i;
    }

    private void object(ObjectPrivileges want, Found f) {
        ObjectPrivileges have = f.privileges();
        String what = want.describe();
        String owner = have.owner();
        List<AclEntry> current = have.acl();
        if (want.owner() != null) {
            String wantOwner = map.target(want.owner());
            if (!wantOwner.equals(have.owner())) {
                // A column's or an identity or serial sequence's owner is its table's: the table's ALTER .. OWNER TO
                // changes it, in the ACL too, before any GRANT or REVOKE here runs (as their old owner, they would
                // run as a role that may no longer reach the object).
                if (!f.followsTable()) {
                    String keyword = OWNER_KEYWORD.get(f.category());
                    if (keyword == null) {
                        throw new IllegalStateException("no ALTER for " + f.category());
                    }
                    differences.add("owner of " + what + " is " + have.owner() + ", not " + wantOwner);
                    ownerChanges.add("ALTER " + keyword + " " + f.identity() + " OWNER TO " + Sql.ident(wantOwner));
                }
                current = current == null ? null : newOwner(current, have.owner(), wantOwner);
                owner = wantOwner;
            }
        }
        if (want.acl() == null || current == null) {
            return;
        }
        String keyword = GRANT_KEYWORD.get(f.category());
        if (keyword == null) {
            throw new IllegalStateException("no GRANT for " + f.category());
        }
        acl(what, keyword + " " + f.identity(), f.column(), owner, mapped(want.acl()), current);
    }

    /** ALTER .. OWNER TO puts the new owner wherever the old one was, as grantee and as grantor. */
    private static List<AclEntry> newOwner(List<AclEntry> acl, String from, String to) {
        Set<AclEntry> out = new LinkedHashSet<>();
        for (AclEntry a : acl) {
            out.add(new AclEntry(Objects.equals(a.grantee(), from) ? to : a.grantee(),
                    Objects.equals(a.grantor(), from) ? to : a.grantor(), a.privilege(), a.grantable()));
        }
        return List.copyOf(out);
    }

    private List<AclEntry> mapped(List<AclEntry> acl) {
        return acl.stream().map(a -> a.mapped(map)).toList();
    }

    /**
     * One GRANT, by its grantor, on one object. A grant by another role than the owner needs that role's grant
     * option in place first: {@link #orderedGrants} sees to the order.
     *
     * @param object the object's {@code on} text, to find which grant options exist on it
     * @param privileges the privileges granted (to know which grant options it creates)
     */
    private record Grant(String object, String owner, String grantor, String grantee, Set<String> privileges,
                         boolean option, String sql) {
    }

    /** Grant options per object ({@code object + grantee + privilege}) held before the grants run. */
    private final Set<String> options = new HashSet<>();

    /**
     * GRANTs and REVOKEs that turn {@code have} into {@code want} on one object. Each runs as its grantor, so the
     * grant chain is the source's (a superuser's GRANT would be recorded as the owner's).
     *
     * @param on e.g. {@code TABLE "s"."t"}
     * @param column a quoted column name for column privileges, else null
     */
    private void acl(String what, String on, String column, String owner, List<AclEntry> want, List<AclEntry> have) {
        Map<Key, Boolean> wanted = entries(want);
        Map<Key, Boolean> current = entries(have);
        Map<List<Object>, Set<String>> toGrant = new TreeMap<>(PrivilegePlanner::compareKeys);
        Map<List<Object>, Set<String>> toRevoke = new TreeMap<>(PrivilegePlanner::compareKeys);
        String object = on + (column == null ? "" : " (" + column + ")");
        for (Map.Entry<Key, Boolean> e : wanted.entrySet()) {
            Key k = e.getKey();
            Boolean now = current.get(k);
            if (now == null || (e.getValue() && !now)) {
                toGrant.computeIfAbsent(List.of(nz(k.grantee()), k.grantor(), e.getValue()), x -> new TreeSet<>())
                        .add(k.privilege());
                differences.add(what + ": " + holder(k.grantee()) + " lacks " + k.privilege()
                        + (e.getValue() ? " WITH GRANT OPTION" : "") + " (granted by " + k.grantor() + ")");
            } else if (!e.getValue() && now) {
                toRevoke.computeIfAbsent(List.of(nz(k.grantee()), k.grantor(), true), x -> new TreeSet<>())
                        .add(k.privilege());
                differences.add(what + ": " + holder(k.grantee()) + " may grant " + k.privilege()
                        + " on, which it may not on the source");
            } else if (now) {
                options.add(object + "\u0000" + nz(k.grantee()) + "\u0000" + k.privilege());
            }
        }
        for (Map.Entry<Key, Boolean> e : current.entrySet()) {
            Key k = e.getKey();
            if (!wanted.containsKey(k)) {
                toRevoke.computeIfAbsent(List.of(nz(k.grantee()), k.grantor(), false), x -> new TreeSet<>())
                        .add(k.privilege());
                differences.add(what + ": " + holder(k.grantee()) + " has " + k.privilege() + " (granted by "
                        + k.grantor() + "), which it does not have on the source");
            }
        }
        for (Map.Entry<List<Object>, Set<String>> e : toRevoke.entrySet()) {
            String grantee = (String) e.getKey().get(0);
            String grantor = (String) e.getKey().get(1);
            boolean optionOnly = (Boolean) e.getKey().get(2);
            revokes.computeIfAbsent(grantor, g -> new ArrayList<>()).add("REVOKE " + (optionOnly ? "GRANT OPTION FOR "
                    : "") + privileges(e.getValue(), column) + " ON " + on + " FROM " + role(grantee) + " CASCADE");
        }
        for (Map.Entry<List<Object>, Set<String>> e : toGrant.entrySet()) {
            String grantee = (String) e.getKey().get(0);
            String grantor = (String) e.getKey().get(1);
            boolean option = (Boolean) e.getKey().get(2);
            grants.add(new Grant(object, owner, grantor, grantee, e.getValue(), option, "GRANT "
                    + privileges(e.getValue(), column) + " ON " + on + " TO " + role(grantee)
                    + (option ? " WITH GRANT OPTION" : "")));
        }
    }

    /**
     * Grants in rounds: those of owners first, then those whose grantor holds the grant option by now; the grants of
     * one grantor in a round run together under one SET ROLE. What never becomes ready (a chain broken on the
     * source) is still tried last, and PostgreSQL's refusal names it.
     */
    private void orderedGrants(List<String> out) {
        List<Grant> pending = new ArrayList<>(grants);
        while (!pending.isEmpty()) {
            List<Grant> ready = pending.stream().filter(g -> g.grantor().equals(g.owner())
                    || g.privileges().stream().allMatch(p -> options.contains(g.object() + "\u0000" + g.grantor()
                    + "\u0000" + p))).toList();
            if (ready.isEmpty()) {
                ready = List.copyOf(pending);
            }
            Map<String, List<String>> byGrantor = new TreeMap<>();
            for (Grant g : ready) {
                byGrantor.computeIfAbsent(g.grantor(), k -> new ArrayList<>()).add(g.sql());
                if (g.option()) {
                    g.privileges().forEach(p -> options.add(g.object() + "\u0000" + g.grantee() + "\u0000" + p));
                }
            }
            byGrantor.forEach((grantor, sql) -> asRole(out, grantor, sql));
            pending.removeAll(ready);
        }
    }

    private static void asRole(List<String> out, String role, List<String> sql) {
        out.add("SET ROLE " + Sql.ident(role));
        out.addAll(sql);
        out.add("RESET ROLE");
    }

    /** The entries of the privileges both versions know, by (grantee, grantor, privilege). */
    private Map<Key, Boolean> entries(Collection<AclEntry> acl) {
        Map<Key, Boolean> out = new HashMap<>();
        for (AclEntry a : acl) {
            if (known.contains(a.privilege())) {
                out.merge(a.key(), a.grantable(), Boolean::logicalOr);
            }
        }
        return out;
    }

    private static int compareKeys(List<Object> a, List<Object> b) {
        return a.toString().compareTo(b.toString());
    }

    /** PUBLIC travels as null; the maps above need a value, and "" is no role's name. */
    private static String nz(String grantee) {
        return grantee == null ? "" : grantee;
    }

    private static String role(String grantee) {
        return grantee == null || grantee.isEmpty() ? "PUBLIC" : Sql.ident(grantee);
    }

    private static String holder(String grantee) {
        return grantee == null || grantee.isEmpty() ? "PUBLIC" : grantee;
    }

    private static String privileges(Set<String> privileges, String column) {
        return privileges.stream().map(p -> column == null ? p : p + " (" + column + ")")
                .collect(Collectors.joining(", "));
    }

    // ------------------------------------------------------------------ default privileges

    private void defaultAcls() throws SQLException {
        List<String> schemas = desired.objects().stream().filter(o -> o.type().equals("schema"))
                .map(o -> o.names().get(0)).toList();
        Map<List<String>, List<AclEntry>> have = new HashMap<>();
        for (DefaultAcl d : PrivilegeCatalog.defaultAcls(c, schemas)) {
            have.put(Arrays.asList(d.role(), d.schema(), d.objtype()), d.acl());
        }
        Map<List<String>, List<AclEntry>> want = new LinkedHashMap<>();
        for (DefaultAcl d : desired.defaultAcls()) {
            if (!DEFAULT_KIND.containsKey(d.objtype())) {
                throw new BadRequestException("source.default_acls",
                        "default privileges of object type " + d.objtype() + " are unknown");
            }
            want.put(Arrays.asList(map.target(d.role()), d.schema(), d.objtype()), mapped(d.acl()));
        }
        Set<List<String>> keys = new LinkedHashSet<>(want.keySet());
        keys.addAll(have.keySet());
        for (List<String> key : keys) {
            String role = key.get(0);
            String schema = key.get(1);
            String kind = key.get(2);
            List<AclEntry> wanted = want.containsKey(key) ? want.get(key) : effectiveDefault(role, schema, kind);
            List<AclEntry> current = have.containsKey(key) ? have.get(key) : effectiveDefault(role, schema, kind);
            defaultAcl(role, schema, kind, wanted, current);
        }
    }

    /** No entry means the built-in default for a global entry and nothing added for a schema's. */
    private List<AclEntry> effectiveDefault(String role, String schema, String kind) throws SQLException {
        if (schema != null) {
            return List.of();
        }
        List<AclEntry> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("""
                SELECT CASE WHEN e.grantee = 0 THEN NULL ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                       pg_catalog.pg_get_userbyid(e.grantor), e.privilege_type, e.is_grantable
                  FROM pg_catalog.pg_roles r
                 CROSS JOIN LATERAL pg_catalog.aclexplode(pg_catalog.acldefault(?::"char", r.oid)) e
                 WHERE r.rolname = ?""")) {
            ps.setString(1, DEFAULT_ACLDEFAULT.get(kind));
            ps.setString(2, role);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new AclEntry(rs.getString(1), rs.getString(2), rs.getString(3), rs.getBoolean(4)));
                }
            }
        }
        return out;
    }

    private void defaultAcl(String role, String schema, String kind, List<AclEntry> want, List<AclEntry> have) {
        // The grantor of a default privilege is always the role it belongs to.
        Map<String, Boolean> wanted = byGrantee(want);
        Map<String, Boolean> current = byGrantee(have);
        String prefix = "ALTER DEFAULT PRIVILEGES FOR ROLE " + Sql.ident(role)
                + (schema == null ? "" : " IN SCHEMA " + Sql.ident(schema));
        String what = "default privileges of " + role + (schema == null ? "" : " in schema " + schema) + " on "
                + DEFAULT_KIND.get(kind).toLowerCase(Locale.ROOT);
        for (Map.Entry<String, Boolean> e : wanted.entrySet()) {
            String[] gp = e.getKey().split("\u0000", 2);
            Boolean now = current.get(e.getKey());
            if (now == null || (e.getValue() && !now)) {
                differences.add(what + ": " + holder(gp[0]) + " lacks " + gp[1]);
                rest.add(prefix + " GRANT " + gp[1] + " ON " + DEFAULT_KIND.get(kind) + " TO " + role(gp[0])
                        + (e.getValue() ? " WITH GRANT OPTION" : ""));
            } else if (!e.getValue() && now) {
                differences.add(what + ": " + holder(gp[0]) + " may grant " + gp[1]);
                rest.add(prefix + " REVOKE GRANT OPTION FOR " + gp[1] + " ON " + DEFAULT_KIND.get(kind) + " FROM "
                        + role(gp[0]));
            }
        }
        for (String k : current.keySet()) {
            if (!wanted.containsKey(k)) {
                String[] gp = k.split("\u0000", 2);
                differences.add(what + ": " + holder(gp[0]) + " has " + gp[1] + " only on the target");
                rest.add(prefix + " REVOKE " + gp[1] + " ON " + DEFAULT_KIND.get(kind) + " FROM " + role(gp[0]));
            }
        }
    }

    private Map<String, Boolean> byGrantee(List<AclEntry> acl) {
        Map<String, Boolean> out = new TreeMap<>();
        for (AclEntry a : acl) {
            if (known.contains(a.privilege())) {
                out.merge(nz(a.grantee()) + "\u0000" + a.privilege(), a.grantable(), Boolean::logicalOr);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ policies

    private void policies() throws SQLException {
        List<String> schemas = desired.objects().stream().filter(o -> o.type().equals("schema"))
                .map(o -> o.names().get(0)).toList();
        Map<List<String>, PolicyRoles> have = new HashMap<>();
        for (PolicyRoles p : PrivilegeCatalog.policies(c, schemas, List.of())) {
            have.put(List.of(p.schema(), p.table(), p.name()), p);
        }
        for (PolicyRoles want : desired.policies()) {
            PolicyRoles now = have.get(List.of(want.schema(), want.table(), want.name()));
            String what = "policy " + Sql.ident(want.name()) + " on " + Sql.qualified(want.schema(), want.table());
            if (now == null) {
                missing.add(what);
                continue;
            }
            Set<String> wanted = new TreeSet<>(mappedRoles(want.roles(), map));
            Set<String> current = new TreeSet<>(mappedRoles(now.roles(), RoleMap.IDENTITY));
            if (!wanted.equals(current)) {
                differences.add(what + " applies to " + current + ", not " + wanted);
                rest.add("ALTER POLICY " + Sql.ident(want.name()) + " ON " + Sql.qualified(want.schema(),
                        want.table()) + " TO " + policyRoles(want.roles(), map));
            }
        }
    }

    /** Role names with PUBLIC as "" (a name no role has). */
    private static List<String> mappedRoles(List<String> roles, RoleMap map) {
        return roles.stream().map(r -> r == null ? "" : map.target(r)).toList();
    }

    /** The TO list of CREATE/ALTER POLICY. */
    public static String policyRoles(List<String> roles, RoleMap map) {
        if (roles.isEmpty()) {
            return "PUBLIC";
        }
        return roles.stream().map(r -> r == null ? "PUBLIC" : Sql.ident(map.target(r)))
                .collect(Collectors.joining(", "));
    }
}
