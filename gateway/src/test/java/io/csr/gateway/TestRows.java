package io.csr.gateway;

import java.util.LinkedHashMap;
import java.util.Map;

/** Table rows for tests to insert ({@code ClickHouseAccess.insertRows}): column names and values, in column order. */
public final class TestRows {
    private TestRows() {
    }

    /** A row of {@code columnsAndValues}: a column name, its value, the next name, … */
    public static Map<String, Object> row(Object... columnsAndValues) {
        if (columnsAndValues.length % 2 != 0) {
            throw new IllegalArgumentException("a value for every column: " + columnsAndValues.length + " names and values");
        }
        Map<String, Object> r = new LinkedHashMap<>();
        for (int i = 0; i < columnsAndValues.length; i += 2) {
            r.put((String) columnsAndValues[i], columnsAndValues[i + 1]);
        }
        return r;
    }
}
