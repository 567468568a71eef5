package io.csr.ops;

import java.util.function.Consumer;

/** Progress lines of long steps, indented under bin/csr's step headers. */
final class Progress {
    static final Consumer<String> PRINT = line -> System.out.println("    " + line);

    private Progress() {
    }
}
