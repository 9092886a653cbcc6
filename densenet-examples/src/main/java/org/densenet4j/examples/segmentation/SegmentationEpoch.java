package org.densenet4j.examples.segmentation;

/**
 * One epoch of segmentation training.
 *
 * @param epoch              the epoch, from 1
 * @param trainLoss          mean training loss per pixel over the epoch's batches (as the model scored
 *                           them: cross-entropy plus weight decay)
 * @param trainPixelAccuracy pixel accuracy over the epoch's training batches
 * @param testLoss           mean per-pixel cross-entropy on the test set after the epoch
 * @param testPixelAccuracy  pixel accuracy on the test set after the epoch
 * @param testMeanIoU        mean IoU on the test set after the epoch
 * @param seconds            the epoch's training time (not the evaluation)
 * @param imagesPerSecond    training images per second
 */
public record SegmentationEpoch(int epoch, double trainLoss, double trainPixelAccuracy, double testLoss,
                                double testPixelAccuracy, double testMeanIoU, double seconds,
                                double imagesPerSecond) {
}
