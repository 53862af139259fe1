// k6/execution: iteration numbers, the scenario's name and executor, and the VU's tags.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

export const options = {
  scenarios: {
    checkout: { executor: 'shared-iterations', vus: 2, iterations: 6 },
  },
  thresholds: {
    'http_reqs{step:pay}': ['count==6'],
    'http_reqs{step:browse}': ['count==6'],
  },
};

export default function () {
  check(exec, {
    'scenario is named': (e) => e.scenario.name === 'checkout',
    'executor is known': (e) => e.scenario.executor === 'shared-iterations',
    'iteration in range': (e) => e.scenario.iterationInTest >= 0 && e.scenario.iterationInTest < 6,
    'VU numbered from 1': (e) => e.vu.idInTest >= 1 && e.vu.idInTest <= 2,
    'options are the test\'s': (e) => e.test.options.scenarios.checkout.iterations === 6,
  });
  exec.vu.tags.step = 'browse';
  http.get(`${__ENV.BASE_URL}/get`);
  exec.vu.tags.step = 'pay';
  http.post(`${__ENV.BASE_URL}/post`, 'paid');
  delete exec.vu.tags.step;
}
