// One custom metric of each kind, with thresholds: one of them fails (exit code 99).
import http from 'k6/http';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

const orders = new Counter('orders');
const basket = new Gauge('basket_size');
const fast = new Rate('fast_enough');
const price = new Trend('order_price');

export const options = {
  iterations: 5,
  thresholds: {
    orders: ['count==10'],
    basket_size: ['value==5'],
    fast_enough: ['rate>=0.6'],
    order_price: ['max==50', 'avg<20'],
  },
};

export default function () {
  http.get(`${__ENV.BASE_URL}/`);
  const n = __ITER + 1;
  orders.add(2);
  basket.add(n);
  fast.add(n <= 3);
  price.add(n * 10);
}
