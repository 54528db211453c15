// Everyone's own account: change one's password (the server then ends every session of the
// user, this one too, so the login page follows).
import { PageSection, Title } from '@patternfly/react-core';
import { OwnPasswordForm } from '../components/UserForms';
import { useSession } from '../session';

export function AccountPage() {
  const { session, expired } = useSession();
  return (
    <PageSection>
      <Title headingLevel="h1">Your account</Title>
      <p>
        {session?.user.login} ({session?.user.role})
      </p>
      <Title headingLevel="h2">Change your password</Title>
      <OwnPasswordForm onChanged={expired} />
    </PageSection>
  );
}
