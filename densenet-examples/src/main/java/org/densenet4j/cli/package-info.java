/**
 * The {@code densenet} command line (picocli): one class per command. Library code it shares with
 * the Spark module lives in {@code org.densenet4j.examples}.
 */
package org.densenet4j.cli;
