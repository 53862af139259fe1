// A custom trend of whole numbers and thresholds close around its percentiles: k6
// interpolates between the samples on either side of a percentile's rank, so the median of
// 1…20 is 10.5 and p(90) is 18.1, and every threshold below holds (reading each percentile
// off one sample — a median of 10, p(90) of 18 — breaks two of them).
import { Trend } from 'k6/metrics';

const score = new Trend('score');

export const options = {
  iterations: 1,
  thresholds: {
    score: ['med>10.49', 'med<10.51', 'p(90)>18.09', 'p(90)<18.11', 'p(95)>19', 'max==20'],
  },
};

export default function () {
  for (let i = 1; i <= 20; i++) {
    score.add(i);
  }
}
