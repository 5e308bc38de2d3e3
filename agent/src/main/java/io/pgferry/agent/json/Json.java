package io.pgferry.agent.json;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.exc.ValueInstantiationException;
import com.fasterxml.jackson.databind.introspect.BeanPropertyDefinition;
import com.fasterxml.jackson.databind.type.LogicalType;
import io.javalin.json.JavalinJackson;
import io.pgferry.agent.problem.ApiException;
import io.pgferry.agent.problem.BadRequestException;
import java.io.IOException;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The agent's JSON: one mapper for requests, answers and the files it keeps; and JSON into records, strictly:
 * unknown fields, wrong types and trailing garbage are refused with the offending field named. Records check their
 * own required fields in their constructors. The parser's limits keep a pathological body (100,000 nested arrays, a
 * number of 900,000 digits) from costing more than a 400. Reading a request's body is http.JsonBody's.
 */
public final class Json {
    /**
     * Far above anything the agent reads (a request nests three levels, a manifest five) and far below what costs
     * memory or stack: nesting, numbers and names are the parts a parser can be made to work hard on.
     */
    static final StreamReadConstraints LIMITS = StreamReadConstraints.builder()
            .maxNestingDepth(64)
            .maxNumberLength(40)
            .maxNameLength(256)
            .maxStringLength(4 * 1024 * 1024)
            .build();
    /** The agent's one mapper, for requests and responses: snake_case, nulls left out. */
    public static final ObjectMapper MAPPER = limited(JavalinJackson.defaultMapper())
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .setSerializationInclusion(JsonInclude.Include.NON_NULL)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
            // {"database":"a","database":"b"} is ambiguous: refused rather than last-one-wins.
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
            // No guessing between types: "password": 12345 or "port": "5432" is a client bug, not a value.
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS);

    static {
        // Booleans stay accepted as text: streaming documents true and false as synonyms of on and off.
        for (CoercionInputShape shape : List.of(CoercionInputShape.Integer, CoercionInputShape.Float)) {
            MAPPER.coercionConfigFor(LogicalType.Textual).setCoercion(shape, CoercionAction.Fail);
        }
    }

    private Json() {
    }

    private static ObjectMapper limited(ObjectMapper mapper) {
        mapper.getFactory().setStreamReadConstraints(LIMITS);
        return mapper;
    }

    public static <T> T parse(byte[] body, Class<T> type) {
        try {
            T value = MAPPER.readValue(body, type);
            if (value == null) {
                throw new BadRequestException("body", "the body is JSON null; send a JSON object with the fields "
                        + "this endpoint documents");
            }
            return value;
        } catch (ValueInstantiationException e) {
            if (e.getCause() instanceof BadRequestException bad) {
                // Jackson reports unknown fields only after the constructor ran: a typo ("databse") would
                // otherwise come back as "database is required". Name the typo instead.
                unknownTopLevelField(body, type);
                throw nested(path(e), bad);
            }
            if (e.getCause() instanceof ApiException api) {
                throw api;
            }
            throw new BadRequestException(path(e), "invalid value for " + path(e));
        } catch (UnrecognizedPropertyException e) {
            String known = e.getKnownPropertyIds().stream().map(Object::toString).sorted()
                    .collect(Collectors.joining(", "));
            throw new BadRequestException(path(e), "unknown field '" + path(e) + "'; known fields here: " + known);
        } catch (InvalidFormatException e) {
            throw new BadRequestException(path(e), "field '" + path(e) + "' must be a "
                    + e.getTargetType().getSimpleName().toLowerCase(java.util.Locale.ROOT));
        } catch (MismatchedInputException e) {
            String field = path(e);
            String expected = e.getTargetType() == null ? "value" : e.getTargetType().getSimpleName();
            throw new BadRequestException(field.isEmpty() ? "body" : field, field.isEmpty()
                    ? "the body must be a JSON object with the fields this endpoint documents"
                    : "field '" + field + "' has the wrong type or is null: expected " + describe(expected));
        } catch (JsonProcessingException e) {
            // Limits and overflows surface bare or wrapped (with the field's path) depending on where they hit.
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t instanceof StreamConstraintsException limit) {
                    throw new BadRequestException("body", "the JSON goes beyond what the agent reads ("
                            + limitOf(limit) + "); send the fields this endpoint documents");
                }
                if (t instanceof InputCoercionException) {
                    String field = e instanceof JsonMappingException m && !path(m).isEmpty() ? path(m) : "body";
                    throw new BadRequestException(field, "field '" + field + "' holds a number out of range for it");
                }
            }
            String original = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
            java.util.regex.Matcher dup = java.util.regex.Pattern.compile("Duplicate field '([^']*)'")
                    .matcher(original);
            if (dup.find()) {
                throw new BadRequestException(dup.group(1), "field '" + dup.group(1) + "' appears twice; send it once");
            }
            throw new BadRequestException("body", "malformed JSON" + (e.getLocation() == null ? ""
                    : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr())
                    + "; send a valid JSON object");
        } catch (IOException e) {
            throw new BadRequestException("body", "the request body could not be read");
        }
    }

    /** Which limit, in words; Jackson's own message names the setting to raise, which is not the client's fix. */
    private static String limitOf(StreamConstraintsException e) {
        String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (m.contains("nesting depth")) {
            return "nested deeper than " + LIMITS.getMaxNestingDepth() + " levels";
        }
        if (m.contains("Number value length")) {
            return "a number longer than " + LIMITS.getMaxNumberLength() + " characters";
        }
        if (m.contains("Name length")) {
            return "a field name longer than " + LIMITS.getMaxNameLength() + " characters";
        }
        if (m.contains("String value length")) {
            return "a string longer than " + LIMITS.getMaxStringLength() + " characters";
        }
        return "a limit of the JSON parser";
    }

    private static void unknownTopLevelField(byte[] body, Class<?> type) {
        Set<String> known;
        com.fasterxml.jackson.databind.JsonNode tree;
        try {
            tree = MAPPER.readTree(body);
            known = MAPPER.getDeserializationConfig().introspect(MAPPER.constructType(type)).findProperties()
                    .stream().map(BeanPropertyDefinition::getName).collect(Collectors.toSet());
        } catch (IOException | RuntimeException e) {
            return;
        }
        if (tree == null || !tree.isObject()) {
            return;
        }
        for (Iterator<String> it = tree.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            if (!known.contains(name)) {
                throw new BadRequestException(name, "unknown field '" + name + "'; known fields here: "
                        + known.stream().sorted().collect(Collectors.joining(", ")));
            }
        }
    }

    /**
     * A record nested in the body (a table in include_tables, the connection) names its own fields; prefix them
     * with where the record sits, so the client sees include_tables[1].schema rather than schema.
     */
    private static BadRequestException nested(String at, BadRequestException bad) {
        String field = bad.field();
        if (at.isEmpty() || field == null || field.equals(at) || field.startsWith(at + ".")
                || field.startsWith(at + "[")) {
            return bad;
        }
        return new BadRequestException(at + "." + field, at + ": " + bad.getMessage());
    }

    private static String describe(String javaType) {
        return switch (javaType) {
            case "String" -> "a string";
            case "List", "ArrayList" -> "an array";
            case "Boolean", "boolean" -> "true or false";
            case "Integer", "int", "Long", "long" -> "an integer";
            default -> "an object";
        };
    }

    private static String path(JsonMappingException e) {
        return e.getPath().stream()
                .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
                .collect(Collectors.joining(".")).replace(".[", "[");
    }
}
