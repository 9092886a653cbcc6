/**
 * Runnable Java examples (each a {@code main}), and what the command line and the Spark module
 * share: {@link org.densenet4j.examples.ImageModel}, {@link org.densenet4j.examples.Architecture},
 * {@link org.densenet4j.examples.FashionMnist}, {@link org.densenet4j.examples.ImageFolder}.
 */
package org.densenet4j.examples;
