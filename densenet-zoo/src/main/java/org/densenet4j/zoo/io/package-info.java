/**
 * Models on disk: DL4J model zips written atomically with a checksum and read back without running
 * code from the file ({@link org.densenet4j.zoo.io.ModelFiles}), the card that travels with the weights
 * ({@link org.densenet4j.zoo.io.ModelCard}) and the image transform it records
 * ({@link org.densenet4j.zoo.io.ImageTransform}), the zoo cache, checked downloads
 * ({@link org.densenet4j.zoo.io.Download}) and whole-or-nothing files ({@link org.densenet4j.zoo.io.AtomicFile}).
 */
package org.densenet4j.zoo.io;
