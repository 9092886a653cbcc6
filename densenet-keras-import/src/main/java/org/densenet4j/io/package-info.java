/**
 * Files in, arrays out, in pure Java: images decoded and transformed as Pillow and torchvision do
 * ({@link org.densenet4j.io.Images}), NumPy {@code .npy} arrays ({@link org.densenet4j.io.Npy}).
 */
package org.densenet4j.io;
