/** Classes beyond which a label column of mostly single-label classes is called out. */
const FEW_CLASSES = 20;

/**
 * A warning when the label column does not look like classes: over 20 classes and more classes than half the given
 * labels, so most classes have one given label (a measurement such as a price, or an id). scikit-learn refuses a
 * float target outright ("Unknown label type: continuous"); here a label is a class by its text, so the run goes
 * on, and each such class can only spread its one label.
 */
export function classCountWarning(classes: number, given: number): string | undefined {
  if (classes <= FEW_CLASSES || classes * 2 <= given) return undefined;
  return (
    `${classes.toLocaleString('en-US')} classes for ${given.toLocaleString('en-US')} given labels: most classes ` +
    'have a single label. Is the label column a class (not a measurement or an id)? --label-column names another'
  );
}
