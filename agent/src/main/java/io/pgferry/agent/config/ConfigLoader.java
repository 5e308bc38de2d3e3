package io.pgferry.agent.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges YAML file, PGFERRY_* environment and flags (later wins), then validates. Collects every error
 * rather than stopping at the first, so one check-config run shows the operator everything to fix.
 */
public final class ConfigLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    private ConfigLoader() {
    }

    /**
     * @param file  the YAML file, or null for none
     * @param env   the process environment (passed in so tests can give their own)
     * @param flags settings from command-line flags, each with its flag as origin
     */
    public static AgentConfig load(Path file, Map<String, String> env, List<Setting> flags) throws ConfigException {
        List<String> errors = new ArrayList<>();
        Map<String, Setting> merged = new LinkedHashMap<>();
        if (file != null) {
            for (Setting s : readYaml(file, errors)) {
                merged.put(s.key(), s);
            }
        }
        for (String key : ConfigKeys.FROM_ENV) {
            String name = ConfigKeys.envName(key);
            String value = env.get(name);
            if (value != null && !value.isEmpty()) {
                merged.put(key, new Setting(key, value, "env " + name));
            }
        }
        for (Setting s : flags) {
            merged.put(s.key(), s);
        }
        return new ConfigValidator(merged, errors).validate();
    }

    static List<Setting> readYaml(Path file, List<String> errors) {
        String origin = "config file " + file;
        List<Setting> out = new ArrayList<>();
        JsonNode root;
        try {
            if (!Files.isRegularFile(file)) {
                errors.add("--config: " + file + " does not exist or is not a regular file; pass the path of the"
                        + " agent's YAML config file");
                return out;
            }
            root = YAML.readTree(file.toFile());
        } catch (IOException e) {
            // Jackson's message names line and column; it quotes YAML structure, not values of secrets
            // (none may live in the file anyway).
            errors.add("--config: " + file + " is not valid YAML (" + firstLine(e.getMessage())
                    + "); fix the syntax");
            return out;
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            return out;
        }
        if (!root.isObject()) {
            errors.add("--config: " + file + " must hold a YAML mapping of keys (listen_port: 7070, ...)");
            return out;
        }
        walk(root, "", ConfigKeys.TOP_LEVEL, origin, out, errors);
        return out;
    }

    private static void walk(JsonNode node, String prefix, List<String> known, String origin, List<Setting> out,
                             List<String> errors) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            String name = field.getKey();
            String key = prefix + name;
            JsonNode value = field.getValue();
            if (!known.contains(name)) {
                errors.add(unknownKey(key, name, prefix, known, origin));
            } else if (key.equals("postgres")) {
                if (value.isObject()) {
                    walk(value, "postgres.", ConfigKeys.POSTGRES, origin, out, errors);
                } else if (!value.isNull()) {
                    errors.add("postgres: must be a mapping (host:, port:, user:, password_file:, database:) in "
                            + origin);
                }
            } else if (value.isContainerNode()) {
                errors.add(key + ": must be a single value, not a list or mapping, in " + origin);
            } else if (!value.isNull()) {
                out.add(new Setting(key, value.asText(), origin));
            }
        }
    }

    private static String unknownKey(String key, String name, String prefix, List<String> known, String origin) {
        if (key.equals("postgres.password")) {
            return "postgres.password: not accepted in " + origin + "; put the password in a file named by"
                    + " postgres.password_file (chmod 600) or in env PGFERRY_POSTGRES_PASSWORD";
        }
        String hint = Suggest.closest(name, known)
                .map(s -> "did you mean \"" + prefix + s + "\"?")
                .orElse("known keys here: " + String.join(", ", known));
        return key + ": unknown key in " + origin + "; " + hint + " (remove or rename it)";
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
