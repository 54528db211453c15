import { LoginForm, LoginPage as PfLoginPage } from '@patternfly/react-core';
import { useState, type FormEvent } from 'react';
import { ApiError } from '../api';
import { useSession } from '../session';

export function LoginPage() {
  const { login } = useSession();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await login(user, password);
    } catch (err) {
      // the server answers a wrong login and a wrong password alike; so does the page
      setError(
        err instanceof ApiError && err.status === 401
          ? 'Wrong login or password.'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <PfLoginPage loginTitle="Log in to keyholder" textContent="Distributed locks for server fleets">
      <LoginForm
        showHelperText={!!error}
        helperText={<span data-testid="login-error">{error}</span>}
        usernameLabel="Login"
        usernameValue={user}
        onChangeUsername={(_e, v) => setUser(v)}
        isValidUsername={!error}
        passwordLabel="Password"
        passwordValue={password}
        onChangePassword={(_e, v) => setPassword(v)}
        isValidPassword={!error}
        isLoginButtonDisabled={busy}
        onLoginButtonClick={(e) => void submit(e as unknown as FormEvent)}
        loginButtonLabel="Log in"
      />
    </PfLoginPage>
  );
}
